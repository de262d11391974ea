// What `POST /v1/match` under 50 back-to-back clients can reach on this machine at best: the
// same clients as bench/fleet.mjs (bench/match-client.cjs, the same 500 syzbot reports) against
// servers that do less than the service —
//   empty:  Fastify answering a fixed small JSON (the HTTP stack and the clients alone);
//   parse:  the same, after reading the console text into a signature (features/signature.ts),
//           which every match must do before it can search —
// each in a process of its own, one at a time, a warm-up pass then a measured one. The service's
// own figures (HNSW search, exact scores, the store) are bench/fleet.mjs's. A target that the
// empty server misses cannot be met by any handler on this machine; one that the parsing server
// misses cannot be met by a service that reads console logs here.
//
//   npm run build && node bench/match-floor.mjs [--clients 50] [--requests 5000] [--runs 3]
//
// Writes bench/results/match-floor.json.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import { ROOT, SHARED, table, fmt, cpuSnapshot, cpuBetween, runMatchClients } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : d;
};

// --serve MODE: be the server (a child of this script), print the port, answer until killed.
if (argv[0] === '--serve') {
  const mode = argv[1];
  const { default: Fastify } = await import('fastify');
  const { signatureFromConsole } = await import(path.join(ROOT, 'dist', 'features', 'signature.js'));
  // The service's limits (src/fleet/service.ts): a match body up to 1 MiB, console text as a string.
  const app = Fastify({ bodyLimit: 1 << 20 });
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.post('/v1/match', async (req) => {
    if (mode === 'parse') return { title: signatureFromConsole(req.body, 'request.log').panic?.title ?? null };
    return { decision: 'new' };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${app.server.address().port}\n`);
  await new Promise(() => {});
}

const CLIENTS = Number(opt('--clients', 50));
const REQUESTS = Number(opt('--requests', 5000));
const RUNS = Number(opt('--runs', 3));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vaat-bench-floor-'));
const reports = fs.readFileSync(path.join(SHARED, 'corpora', 'syzbot-clusters-dev', 'reports.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 500).map((l) => JSON.parse(l).report);
fs.writeFileSync(path.join(tmp, 'texts.json'), JSON.stringify(reports));

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function measure(mode) {
  const srv = spawn(process.execPath, [path.join(ROOT, 'bench', 'match-floor.mjs'), '--serve', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => readline.createInterface({ input: srv.stdout }).once('line', resolve));
  const clients = (requests, onReady = async () => {}) => runMatchClients({ urls: `http://127.0.0.1:${port}`, textsFile: path.join(tmp, 'texts.json'), clients: CLIENTS, requests, onReady });

  try {
    await clients(Math.min(500, REQUESTS));
    let cpu0 = null;
    const r = await clients(REQUESTS, async () => { cpu0 = cpuSnapshot(); });
    const cpu = cpuBetween(cpu0, cpuSnapshot(), (pid) => (pid === srv.pid ? 'server' : 'other'));
    const lat = r.lat.sort((a, b) => a - b);
    return {
      mode, requests: REQUESTS, clients: CLIENTS, perSecond: REQUESTS / r.seconds, p50ms: pct(lat, 0.5), p99ms: pct(lat, 0.99),
      serverCpuMsPerRequest: ((cpu.by.server ?? 0) * 1000) / REQUESTS, machineBusy: cpu.busy / (cpu.busy + cpu.idle), statuses: r.statuses,
    };
  } finally {
    srv.kill();
  }
}

const rows = [];
for (let run = 0; run < RUNS; run++) {
  for (const mode of ['empty', 'parse']) {
    const r = await measure(mode);
    console.error(`match-floor: ${JSON.stringify(r)}`);
    rows.push({ run, ...r });
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'match-floor.json'), JSON.stringify({ when: new Date().toISOString(), cores: os.cpus().length, rows }, null, 1) + '\n');
console.log(table(['server', 'run', 'clients', 'requests', 'per second', 'p50 ms', 'p99 ms', 'server CPU ms / request', 'machine busy', 'statuses'],
  rows.map((r) => [r.mode === 'empty' ? 'empty handler' : 'console parse only', String(r.run + 1), String(r.clients), String(r.requests), fmt(r.perSecond, 0), fmt(r.p50ms, 1), fmt(r.p99ms, 1), fmt(r.serverCpuMsPerRequest, 3), `${fmt(100 * r.machineBusy, 0)} %`, JSON.stringify(r.statuses)])));
