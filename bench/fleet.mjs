// The fleet end to end on real servers (Debian's redis-server and
// PostgreSQL 15 on loopback, in a temporary directory):
//   1. console-log ingest throughput, API → queue → workers → store →
//      decision, with 1 and with 2 `vaat worker` processes (fresh database
//      each, the same syzbot reports);
//   2. POST /v1/match latency (p50/p99) under 50 concurrent clients against a
//      store of N signatures (default 100,000: variants of real ones, stored
//      through the engine directly, bench/variants.mjs).
//
//   npm run build && node bench/fleet.mjs [--n 100000] [--ingest 2000] [--clients 50] [--requests 5000] [--match-only | --ingest-only | --startup]
//     [--once] [--console-only] [--own-index] [--profile-workers DIR] [--pg-dir DIR] [--api-flags "FLAGS"] [--serve-args "ARGS"] [--api-nodes N]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { ROOT, SHARED, VAAT, table, fmt, cpuSnapshot, cpuBetween, coresCeiling, hnswAddonBuild, runMatchClients } from './lib.mjs';
import { realSignatures } from './variants.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const N = Number(opt('--n', 100000));
const INGEST = Number(opt('--ingest', 2000));
const CLIENTS = Number(opt('--clients', 50));
const REQUESTS = Number(opt('--requests', 5000));
const RATE = Number(opt('--rate', 100));
// --api-nodes N: N query nodes (`vaat serve` processes, each with its own in-memory index over the
// one store) for the match part, the clients spread over them as a load balancer would (client j
// talks to node j mod N): does adding query nodes add answers per second on this machine?
const NODES = Number(opt('--api-nodes', 1));
const d = (p) => path.join(ROOT, 'dist', p);
const { ensurePackages, startRedis, startPostgres, freePort } = await import(d('src/fleet/local.js'));
const { PgStore } = await import(d('src/similarity/postgres.js'));
const { Engine } = await import(d('src/similarity/engine.js'));
const { loadSyzbotReports } = await import(d('datasets/syzbot.js'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vaat-bench-fleet-'));
// The nodes' HNSW caches in the bench's directory (the ports, so the database URLs, are new each
// run: under the temp dir each run left one cache behind); everything here goes when the bench ends.
process.env.VAAT_INDEX_DIR = tmp;
const TOKEN = 'bench-token-0123456789abcdef';
ensurePackages();
let redis = await startRedis(path.join(tmp, 'redis'));
// --pg-dir DIR: PostgreSQL's data directory kept there, so that a later --match-only run reuses the
// match store it built (database m<N>) instead of storing N signatures again (~13 min at 100 k).
const PG_DIR = opt('--pg-dir', path.join(tmp, 'pg'));
const pgs = await startPostgres(PG_DIR);
// A run that fails (an API that will not start, a client that exits) must not leave its databases
// running: a kept --pg-dir would refuse the next run ("postmaster.pid already exists").
let finished = false;
process.on('exit', () => {
  if (!finished) for (const pid of [pgs.pid(), redis.pid()]) if (pid) try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
  // PostgreSQL's data stays only where --pg-dir put it (outside tmp); with --api-flags the API's
  // output (api-PORT.out, e.g. a GC trace) is what the run was for: kept, and its place printed.
  if (API_FLAGS.length) console.error(`bench: the API's output is in ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
});
let dbn = 0;
async function freshDb(name = `b${++dbn}`) {
  const s = await PgStore.open(pgs.url);
  await s.pool.query(`DROP DATABASE IF EXISTS ${name}`);
  await s.pool.query(`CREATE DATABASE ${name}`);
  await s.close();
  return pgs.url.replace(/\/postgres$/, `/${name}`);
}
// --api-flags "FLAGS": node flags for the API process (e.g. "--trace-gc"; its stdout goes to api-PORT.out in the bench's temporary directory).
const API_FLAGS = (opt('--api-flags', '') || '').split(/\s+/).filter(Boolean);
// --serve-args "ARGS": extra `vaat serve` options (e.g. "--parallel-scavenge", to compare with V8's default); a diagnosis too.
const SERVE_ARGS = (opt('--serve-args', '') || '').split(/\s+/).filter(Boolean);
// The API as it runs in production: `vaat serve` in a process of its own (its heap is its own, not
// the bench's), the token from the environment.
/** Resolves when a spawned vaat process says `said` on its stderr; rejects if it exits first. */
function untilSaid(c, said, what) {
  let err = '';
  return new Promise((resolve, reject) => {
    c.stderr.on('data', (b) => {
      err += b;
      if (said.test(err)) resolve();
    });
    c.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${err.slice(-400)}`)));
  });
}
async function startApi(db, root) {
  const port = await freePort();
  const out = fs.openSync(path.join(tmp, `api-${port}.out`), 'w');
  const c = spawn(process.execPath, [...API_FLAGS, VAAT, 'serve', '--pg', db, '--redis', redis.url, '--port', String(port), '--root', root, ...SERVE_ARGS], { stdio: ['ignore', out, 'pipe'], env: { ...process.env, VAAT_TOKEN: TOKEN } });
  await untilSaid(c, /listening on/, 'vaat serve');
  return { url: `http://127.0.0.1:${port}`, pid: c.pid, close: () => new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); }) };
}
const reports = loadSyzbotReports(path.join(SHARED, 'corpora', 'syzbot-clusters-dev', 'reports.jsonl'));
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function post(base, url, body) {
  const r = await fetch(base + url, { method: 'POST', headers: { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', authorization: `Bearer ${TOKEN}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => null) };
}

// 1. Ingest throughput with 1 and 2 workers: console logs, then (when the lab set is there) dumps.
const LAB = process.env.VAAT_LAB ?? '/work/labset';
const labDumps = fs.existsSync(path.join(LAB, 'manifest.json')) ? JSON.parse(fs.readFileSync(path.join(LAB, 'manifest.json'), 'utf8')).entries.map((e) => path.join(LAB, e.path)) : [];
const ingest = [];
// Each configuration twice, alternating (1, 2, 1, 2 workers), the faster of each kept: the dumps'
// pages are cold in the page cache for whichever run comes first.
// --once: each configuration once (a quick look, e.g. with --profile-workers); --console-only: no dumps.
const order = argv.includes('--once') ? [1, 2] : [1, 2, 1, 2];
const runs = argv.includes('--match-only') ? [] : [...order.map((w) => ({ w, kind: 'console logs' })), ...(labDumps.length && !argv.includes('--console-only') ? order.map((w) => ({ w, kind: 'lab dumps' })) : [])];
// --own-index: each worker keeps an HNSW index of its own (as before the nineteenth session), instead
// of asking the service for candidates (vaat worker --candidates, what vaat fleet up starts).
const OWN_INDEX = argv.includes('--own-index');
// --profile-workers DIR: every worker writes a V8 CPU profile there when it stops (node --cpu-prof).
const PROFILE = opt('--profile-workers', null);
for (const { w: nWorkers, kind } of runs) {
  // A fresh queue (its own Redis) and a fresh database per run.
  await redis.stop();
  redis = await startRedis(path.join(tmp, `redis-${nWorkers}`));
  const db = await freshDb();
  const root = kind === 'lab dumps' ? LAB : tmp;
  const svc = await startApi(db, root);
  const base = svc.url;
  const workers = Array.from({ length: nWorkers }, () => spawn(process.execPath, [...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILE, `${kind === 'lab dumps' ? 'dumps' : 'console'}-${nWorkers}w`)}`] : []), VAAT, 'worker', '--redis', redis.url, '--pg', db, '--root', root, '--concurrency', '2', ...(OWN_INDEX ? [] : ['--candidates', base])], { stdio: 'ignore', env: { ...process.env, VAAT_TOKEN: TOKEN } }));
  await new Promise((r) => setTimeout(r, 1500));
  const cpu0 = cpuSnapshot();
  const t0 = performance.now();
  const ids = [];
  let errors = 0;
  const bodies = kind === 'lab dumps' ? labDumps.map((p) => ({ path: p })) : reports.slice(0, INGEST).map((rep) => ({ name: `${rep.id}.txt`, text: rep.report }));
  // Submitted by 8 clients at once, as a fleet's machines would: one client waiting for each answer
  // before sending the next would measure that client, not the service.
  let nextBody = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (nextBody < bodies.length) {
      const r = await post(base, '/v1/ingest', bodies[nextBody++]);
      if (r.status === 202) ids.push(r.json.job);
      else errors++;
    }
  }));
  const submittedS = (performance.now() - t0) / 1000;
  // Done when the queue has nothing waiting or active and every job has finished.
  for (;;) {
    const m = await (await fetch(base + '/metrics')).text();
    const get = (s) => Number(new RegExp(`vaat_queue_jobs\\{state="${s}"\\} (\\d+)`).exec(m)?.[1] ?? 0);
    if (get('wait') + get('active') + get('delayed') === 0 && get('completed') + get('failed') >= ids.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const secs = (performance.now() - t0) / 1000;
  // Where the CPU went: which part of the pipeline a second worker would have to share the cores with.
  const wpids = new Set(workers.map((w) => w.pid));
  const cpu = cpuBetween(cpu0, cpuSnapshot(), (pid, comm) => (pid === svc.pid ? 'api' : pid === process.pid ? 'clients' : wpids.has(pid) ? 'workers' : comm === 'postgres' ? 'postgres' : comm === 'redis-server' ? 'redis' : 'other'));
  let failed = 0;
  for (const id of ids) {
    const j = await (await fetch(`${base}/v1/jobs/${id}`)).json();
    if (j.state !== 'completed') failed++;
  }
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
  await svc.close();
  const run = { kind, workers: nWorkers, workerIndex: OWN_INDEX ? 'own' : 'service', jobs: ids.length, seconds: secs, perSecond: ids.length / secs, submittedSeconds: submittedS, errors: errors + failed, cpu };
  const prev = ingest.findIndex((x) => x.kind === kind && x.workers === nWorkers);
  if (prev < 0) ingest.push(run);
  else if (run.seconds < ingest[prev].seconds) ingest[prev] = { ...run, errors: run.errors + ingest[prev].errors };
  else ingest[prev].errors += run.errors;
  console.error(`bench: ${kind}, ${nWorkers} worker(s): ${ids.length} jobs in ${secs.toFixed(1)} s (all submitted after ${submittedS.toFixed(1)} s); CPU s: busy ${cpu.busy.toFixed(1)} of ${(cpu.busy + cpu.idle).toFixed(1)}, stolen ${cpu.steal.toFixed(1)}, ${Object.entries(cpu.by).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
}

// The machine's own two-core ceiling, measured right after the ingest runs (bench/cores.mjs).
const ceiling = runs.length ? coresCeiling() : null;
const cpuCols = (x) => {
  const c = x.cpu;
  const part = (k) => fmt(c.by[k] ?? 0, 1);
  return [`${fmt((100 * c.busy) / (c.busy + c.idle), 0)} %`, part('workers'), part('api'), part('clients'), part('postgres'), part('redis'), part('other')];
};
const ingestTable = () => table(['inputs', 'workers', 'ingested', 'seconds', 'all submitted after s', 'per second', 'errors', 'machine busy', 'CPU s: workers', 'API', 'clients', 'postgres', 'redis', 'other'],
  ingest.map((x) => [x.kind, String(x.workers), String(x.jobs), fmt(x.seconds, 1), fmt(x.submittedSeconds, 1), fmt(x.perSecond, 1), String(x.errors), ...cpuCols(x)]));
const speedLine = (res) => `\n2 workers / 1 worker: console logs ${fmt(res.speedup, 2)}×${res.dumpSpeedup ? `, dumps ${fmt(res.dumpSpeedup, 2)}×` : ''}; two CPU-bound processes against one on this machine at the time: ${fmt(ceiling, 2)}×`;

if (argv.includes('--ingest-only')) {
  await redis.stop();
  await pgs.stop();
  const res = { ingest, speedup: ingest[1] ? ingest[1].perSecond / ingest[0].perSecond : null, dumpSpeedup: ingest[3] ? ingest[3].perSecond / ingest[2].perSecond : null, coresCeiling: ceiling, cores: os.availableParallelism() };
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  // A diagnostic run (--once, --profile-workers: profiled workers are slower) does not replace the recorded figures.
  if (!argv.includes('--once') && !PROFILE) fs.writeFileSync(path.join(ROOT, 'bench', 'results', OWN_INDEX ? 'fleet-ingest-own-index.json' : 'fleet-ingest.json'), JSON.stringify(res, null, 1) + '\n');
  console.log(ingestTable());
  console.log(speedLine(res));
  process.exit(0);
}

// 2. Match latency against N signatures (kept in database m<N> when --pg-dir is given).
const mdb = pgs.url.replace(/\/postgres$/, `/m${N}`);
const have = await (async () => {
  const s = await PgStore.open(pgs.url);
  const exists = (await s.pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [`m${N}`])).rows.length > 0;
  await s.close();
  if (!exists) return 0;
  const m = await PgStore.open(mdb);
  const e = await Engine.open(m);
  const n = e.stale ? -1 : (await m.pool.query('SELECT count(*)::int AS n FROM signatures')).rows[0].n;
  await e.close();
  return n;
})();
const db = have === N ? mdb : await freshDb(`m${N}`);
if (have === N) console.error(`bench: reusing the ${N} signatures of database m${N} in ${PG_DIR}`);
else {
  const store = await PgStore.open(db);
  const engine = await Engine.open(store);
  const { base, variant } = await realSignatures(tmp, process.env.VAAT_LAB ?? '/work/labset');
  const t0 = performance.now();
  for (let done = 0; done < N; ) {
    const n = Math.min(500, N - done);
    await store.exclusive(async () => {
      for (let j = 0; j < n; j++) await engine.ingest(variant(base[(done + j) % base.length], done + j), { path: null, logText: null });
    });
    done += n;
    if (done % 10000 === 0) console.error(`bench: ${done} signatures stored (${(done / ((performance.now() - t0) / 1000)).toFixed(0)}/s)`);
  }
  await engine.close();
}
// Whatever the set-up wrote (an index file, PostgreSQL's pages) goes to the disk before the API
// starts: the kernel writes dirty pages back 30 s later, and a 250 MB writeback of the set-up's
// index landed inside the measured run (2026-12-06; the stall beside it was the pool's, but the
// set-up's I/O has no business in the run either).
execFileSync('sync');
// --startup: how long a worker takes to start on this store and how much memory it holds then:
// with an index of its own, without its cache file (a new machine, a rules change) and with it,
// and asking the service for candidates (--candidates); the service's own start (no cache file:
// this run's index directory is new) too. Written to bench/results/fleet-startup-<N>.json.
if (argv.includes('--startup')) {
  const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  // The check above opened the store here and left its index file where the service would find it.
  for (const d of fs.readdirSync(tmp)) if (d.startsWith('vaat-pg-index-')) fs.rmSync(path.join(tmp, d), { recursive: true, force: true });
  const t0 = performance.now();
  const api = await startApi(db, tmp);
  const rows = [{ what: 'service (vaat serve), no cache file', seconds: (performance.now() - t0) / 1000, rssMb: rssMb(api.pid) }];
  const own = path.join(tmp, 'worker-index');
  for (const [what, args] of [['worker, own index, no cache file', []], ['worker, own index, its cache file', []], ['worker asking the service', ['--candidates', api.url]], ['worker asking the service', ['--candidates', api.url]]]) {
    const t1 = performance.now();
    const c = spawn(process.execPath, [VAAT, 'worker', '--redis', redis.url, '--pg', db, '--root', tmp, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VAAT_TOKEN: TOKEN, VAAT_INDEX_DIR: own } });
    await untilSaid(c, /taking jobs/, 'vaat worker');
    const seconds = (performance.now() - t1) / 1000;
    // Its memory once started, after a moment for what it does right after (listening, the first catch-up).
    await new Promise((r) => setTimeout(r, 500));
    rows.push({ what, seconds, rssMb: rssMb(c.pid) });
    await new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); });
    console.error(`bench: ${what}: ready in ${seconds.toFixed(2)} s, ${rows.at(-1).rssMb.toFixed(0)} MB`);
  }
  await api.close();
  await redis.stop();
  await pgs.stop();
  finished = true;
  fs.writeFileSync(path.join(ROOT, 'bench', 'results', `fleet-startup-${N}.json`), JSON.stringify({ signatures: N, rows, when: new Date().toISOString() }, null, 1) + '\n');
  console.log(table(['start-up', 'seconds to "taking jobs" (service: to "listening on")', 'RSS MB'], rows.map((r) => [r.what, fmt(r.seconds, 2), fmt(r.rssMb, 0)])));
  process.exit(0);
}
const svcs = [];
for (let i = 0; i < NODES; i++) svcs.push(await startApi(db, tmp));
// The texts the clients send (bench/match-client.cjs, a process of its own): the first 500 reports.
const texts = reports.slice(0, 500).map((r) => r.report);
fs.writeFileSync(path.join(tmp, 'texts.json'), JSON.stringify(texts));
// A warm-up pass (index pages, view cache, JIT) that is not measured, then the measured one.
// onReady runs between the clients' warm-up and their measured requests.
const runClients = (requests, rate = 0, onReady = async () => {}) => runMatchClients({ urls: svcs.map((s) => s.url).join(','), textsFile: path.join(tmp, 'texts.json'), clients: CLIENTS, requests, rate, onReady });
await runClients(Math.min(500, REQUESTS));
// The client's own clock, from its first due request to its last answer (its start and the
// connections' warm-up are not the service's time).
// The machine's cores and the query nodes' and PostgreSQL's CPU over the measured requests (the
// client process has exited when the run returns: its share is in what is left of "busy").
let satCpu0 = null;
const { lat, statuses, seconds: wall } = await runClients(REQUESTS, 0, async () => { satCpu0 = cpuSnapshot(); });
const apiPids = new Set(svcs.map((s) => s.pid));
const satCpu = cpuBetween(satCpu0, cpuSnapshot(), (pid, comm) => (apiPids.has(pid) ? 'api' : comm === 'postgres' ? 'postgres' : 'other'));
const satBusy = satCpu.busy / (satCpu.busy + satCpu.idle);
console.error(`bench: saturated, machine busy ${(satBusy * 100).toFixed(0)} %, CPU s: query nodes ${(satCpu.by.api ?? 0).toFixed(1)}, PostgreSQL ${(satCpu.by.postgres ?? 0).toFixed(1)}`);
const errors = Object.entries(statuses).filter(([k]) => k !== '200').reduce((a, [, v]) => a + v, 0);
if (errors) console.error(`bench: match statuses ${JSON.stringify(statuses)}`);
// The API's own latency histogram (time inside the service, from Fastify's request start to the
// reply), read before and after a run: what of the clients' latency the service itself spent.
const serverHist = async () => {
  const h = {};
  for (const svc of svcs) {
    const m = await (await fetch(svc.url + '/metrics')).text();
    for (const x of m.matchAll(/^vaat_http_request_duration_seconds_bucket\{route="\/v1\/match",le="([^"]+)"\} (\d+)$/gm)) h[x[1]] = (h[x[1]] ?? 0) + Number(x[2]);
  }
  return h;
};
const serverShare = (a, b) => Object.fromEntries(Object.keys(b).map((le) => [le, (b[le] - (a[le] ?? 0)) / (b['+Inf'] - (a['+Inf'] ?? 0))]));
// The same 50 clients at a steady total rate below saturation: the latency a user sees when the API is not the bottleneck.
let h0 = {};
const paced = await runClients(Math.min(REQUESTS, RATE * 20), RATE, async () => { h0 = await serverHist(); });
const pacedServer = serverShare(h0, await serverHist());
// The slowest paced requests, for the shape of the tail (a cluster near 40 ms would be TCP's delayed ACK; a spread, queueing).
console.error(`bench: paced run started at epoch ms ${paced.startedAt.toFixed(0)}`);
console.error(`bench: paced, the slowest 40 (ms @ s into the run): ${paced.lat.map((x, i) => [x, paced.at[i]]).sort((a, b) => b[0] - a[0]).slice(0, 40).map(([x, t]) => `${x.toFixed(1)}@${t.toFixed(1)}`).join(' ')}`);
console.error(`bench: paced, share of requests the service answered within (s): ${JSON.stringify(pacedServer)}`);
const pacedErrors = Object.entries(paced.statuses).filter(([k]) => k !== '200').reduce((a, [, v]) => a + v, 0);
for (const svc of svcs) await svc.close();
await redis.stop();
await pgs.stop();
finished = true;

const res = {
  ingest, match: { signatures: N, clients: CLIENTS, nodes: NODES, requests: REQUESTS, p50ms: pct(lat, 0.5), p99ms: pct(lat, 0.99), perSecond: REQUESTS / wall, errors, statuses, machineBusy: satBusy, cpuSeconds: { queryNodes: satCpu.by.api ?? 0, postgres: satCpu.by.postgres ?? 0 } },
  paced: { rate: RATE, requests: paced.lat.length, p50ms: pct(paced.lat, 0.5), p99ms: pct(paced.lat, 0.99), errors: pacedErrors, statuses: paced.statuses, serverShareWithin: pacedServer },
  hnswAddon: await hnswAddonBuild(), speedup: ingest[1] ? ingest[1].perSecond / ingest[0].perSecond : null, dumpSpeedup: ingest[3] ? ingest[3].perSecond / ingest[2].perSecond : null, coresCeiling: ceiling, cores: os.availableParallelism(),
};
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
// An API run with extra node flags (a profiler, a GC trace) is a diagnosis: it does not replace the recorded figures.
if (!API_FLAGS.length && !SERVE_ARGS.length) fs.writeFileSync(path.join(ROOT, 'bench', 'results', NODES > 1 ? `fleet-${N}-nodes${NODES}.json` : `fleet-${N}.json`), JSON.stringify(res, null, 1) + '\n');
if (ingest.length) console.log(ingestTable() + speedLine(res) + '\n');
console.log(table(['store signatures', 'query nodes', 'clients', 'load', 'requests', 'match p50 ms', 'match p99 ms', 'requests/s', 'errors'], [
  [String(N), String(NODES), String(CLIENTS), 'back to back (saturated)', String(REQUESTS), fmt(res.match.p50ms, 1), fmt(res.match.p99ms, 1), fmt(res.match.perSecond, 0), String(errors)],
  [String(N), String(NODES), String(CLIENTS), `paced, ${RATE}/s in all`, String(res.paced.requests), fmt(res.paced.p50ms, 1), fmt(res.paced.p99ms, 1), fmt(RATE, 0), String(pacedErrors)],
]));
