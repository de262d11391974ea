// The match clients of bench/fleet.mjs and bench/match-floor.mjs, in a process of their own, as
// they would be on other machines (their request-making does not steal the service's event loop):
//   node bench/match-client.cjs URL[,URL…] TEXTS.json CLIENTS REQUESTS RATE
// CLIENTS kept-alive connections POST /v1/match with the texts in turn; RATE 0: back to back, else
// paced at RATE requests a second in all. Prints "ready" after each client's unmeasured first
// request, waits for a line on stdin, then prints the measured run as JSON.
const fs = require('node:fs');
const http = require('node:http');
const [urls, file, clients, requests, rate] = process.argv.slice(2);
const texts = JSON.parse(fs.readFileSync(file, 'utf8')).map((t) => Buffer.from(t));
// node:http with kept-alive connections, one per client: fetch's streams and objects made the
// client process collect garbage and grow its heap often enough that its own pauses (page-fault
// bursts in its process, timed against the slowest requests) showed up as service latency.
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(clients) });
// Client j talks to node j mod N (one node: every client to it).
const nodes = urls.split(',').map((u) => new URL(u));
const post = (body, j) => new Promise((resolve) => {
  const { hostname, port } = nodes[j % nodes.length];
  const req = http.request({ agent, hostname, port, path: '/v1/match', method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': body.length } }, (res) => {
    res.resume();
    res.on('end', () => resolve(String(res.statusCode)));
    res.on('error', () => resolve('network'));
  });
  req.on('error', () => resolve('network'));
  req.end(body);
});
const lat = []; const at = []; const statuses = {}; let next = 0;
(async () => {
  // Each client opens its connection with one unmeasured request before the clock starts: a fleet's
  // clients keep their connections, and a fresh process's first requests measured its own start
  // (loading fetch's HTTP client, 50 TCP handshakes): the slowest paced requests, up to 88 ms, all
  // fell in the first 0.1 s of the run.
  await Promise.all(Array.from({ length: Number(clients) }, async (_, j) => {
    await post(texts[j % texts.length], j);
  }));
  // Ready: the parent reads the service's histogram now (the warm-up is not the run's), then says go.
  process.stdout.write('ready\n');
  await new Promise((r) => process.stdin.once('data', r));
  process.stdin.pause();
  const t0 = performance.now() + (Number(rate) > 0 ? 50 : 0);
  await Promise.all(Array.from({ length: Number(clients) }, async (_, j) => {
    while (next < Number(requests)) {
      const i = next++;
      // Paced: request i is due at t0 + i/rate, and its latency counts from when it was due
      // (a late start is the service's delay too). Unpaced: back to back.
      const due = Number(rate) > 0 ? t0 + (i * 1000) / Number(rate) : performance.now();
      if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      const a = due;
      const st = await post(texts[i % texts.length], j);
      statuses[st] = (statuses[st] || 0) + 1;
      lat.push(performance.now() - a); at.push((a - t0) / 1000);
    }
  }));
  process.stdout.write(JSON.stringify({ lat, at, statuses, seconds: (performance.now() - t0) / 1000, startedAt: performance.timeOrigin + t0 }));
  agent.destroy();
})();