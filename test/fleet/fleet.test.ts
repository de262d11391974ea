// The fleet on real servers: Debian's redis-server and PostgreSQL 15 (apt
// installs them when missing), each in its own temporary directory on
// loopback, stopped afterwards; the service in this process, the workers as
// `vaat worker` processes (so they can be killed). No mocks.
//
// The shared dumps and 2,000 syzbot console reports go through the API to
// two workers; every input is stored once, and replaying the inputs in the
// order the fleet committed them into the embedded store gives the same
// decisions and issues. Then the faults: a worker kill -9'ed mid-job, Redis
// restarted mid-run, PostgreSQL restarted, a poison input, no token, paths
// outside the roots.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { VAAT } from '../helpers/cli.js';
import { KERNEL_DIR, fixtures } from '../helpers/fixtures.js';
import { syzbotReports } from '../helpers/syzbot.js';
import { ensurePackages, startRedis, startPostgres, freePort, postgresUser, type Running } from '../../src/fleet/local.js';
import { startService, type RunningService } from '../../src/fleet/service.js';
import { DEAD_QUEUE, INGEST_QUEUE, redisConnection } from '../../src/fleet/worker.js';
import { encodeVector } from '../../src/fleet/candidates.js';
import { PgStore, PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/similarity/postgres.js';
import { openSqliteStore } from '../../src/similarity/sqlite.js';
import { Engine } from '../../src/similarity/engine.js';
import { rarityNames } from '../../src/similarity/view.js';
import { extract } from '../../src/report/extract.js';
import { signatureFromConsole } from '../../features/signature.js';
import { tempDir } from '../helpers/tmp.js';
import { mountTmpfs } from '../helpers/smallfs.js';

const tmp = tempDir('vaat-fleet-');
// Every node's HNSW cache (the service here, the spawned workers, the stores opened to check) in
// this test's directory, removed with it: under the temp dir each database URL (a new port each
// run) left 250 MB behind.
process.env.VAAT_INDEX_DIR = tmp;
const TOKEN = 'test-token-0123456789abcdef';
let redis: Running;
let pgs: Running;
let svc: RunningService;
const workers: ChildProcess[] = [];
let dbn = 0;

function startWorker(pgUrl: string, extra: string[] = [], env: Record<string, string> = {}, redisUrl = redis.url): ChildProcess {
  const c = spawn(process.execPath, [VAAT, 'worker', '--redis', redisUrl, '--pg', pgUrl, '--root', KERNEL_DIR, '--concurrency', '2', '--lock-ms', '3000', ...extra], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  (c as ChildProcess & { err: () => string }).err = () => err;
  workers.push(c);
  return c;
}

async function stopWorkers(): Promise<void> {
  for (const c of workers.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }
}

/** A fresh database per test (one server): CREATE DATABASE. */
async function freshDb(): Promise<string> {
  const name = `t${++dbn}`;
  const c = await PgStore.open(pgs.url.replace(/\/postgres$/, '/postgres'));
  await c.pool.query(`CREATE DATABASE ${name}`);
  await c.close();
  return pgs.url.replace(/\/postgres$/, `/${name}`);
}

async function api(method: string, url: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; json: any; text: string }> {
  const r = await fetch(`${svc.url}${url}`, {
    method, headers: { ...(body !== undefined ? { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, json, text };
}

async function waitJobs(ids: string[], ms = 600_000): Promise<Map<string, any>> {
  const until = Date.now() + ms;
  const done = new Map<string, any>();
  while (done.size < ids.length) {
    if (Date.now() > until) throw new Error(`${ids.length - done.size} jobs not finished`);
    for (const id of ids) {
      if (done.has(id)) continue;
      const r = await api('GET', `/v1/jobs/${id}`).catch(() => null);
      if (r?.status === 200 && (r.json.state === 'completed' || r.json.state === 'failed')) done.set(id, r.json);
    }
    if (done.size < ids.length) await new Promise((r) => setTimeout(r, 200));
  }
  return done;
}

async function newService(pgUrl: string): Promise<void> {
  await svc?.close();
  svc = await startService({ pg: pgUrl, redis: redis.url, port: await freePort(), token: TOKEN, roots: [KERNEL_DIR] });
}

before(async () => {
  ensurePackages();
  redis = await startRedis(path.join(tmp, 'redis'));
  pgs = await startPostgres(path.join(tmp, 'pg'));
});

after(async () => {
  await stopWorkers();
  await svc?.close().catch(() => {});
  await redis?.stop();
  await pgs?.stop();
});

/** Console logs number `from` to `to` of the syzbot corpus, submitted through the API: the logs and their job ids. */
async function submitLogs(from: number, to: number): Promise<{ logs: Array<{ name: string; text: string }>; ids: string[] }> {
  const logs = syzbotReports().slice(from, to).map((r) => ({ name: `${r.id}.txt`, text: r.report }));
  const ids: string[] = [];
  for (const l of logs) {
    const r = await api('POST', '/v1/ingest', l);
    assert.equal(r.status, 202, r.text);
    ids.push(r.json.job);
  }
  return { logs, ids };
}

/** Every distinct log stored once (by its sha256, as the store keys console text). */
async function assertStoredOnce(db: string, logs: Array<{ text: string }>): Promise<void> {
  const store = await PgStore.open(db);
  const crypto = await import('node:crypto');
  assert.equal(await store.count(), new Set(logs.map((l) => crypto.createHash('sha256').update(l.text, 'latin1').digest('hex'))).size);
  await store.close();
}

/** Every job completed, each on its first attempt (waiting spent none), none in the dead-letter queue. */
async function assertFirstAttempts(ids: string[], dead: Queue, timeoutMs: number): Promise<void> {
  const jobs = await waitJobs(ids, timeoutMs);
  assert.deepEqual([...jobs.values()].filter((j) => j.state !== 'completed').map((j) => j.id), []);
  assert.deepEqual([...new Set([...jobs.values()].map((j) => j.attempts))], [1], 'waiting spent no attempt');
  for (const id of ids) assert.equal(await dead.getJob(`dead-${id}`), undefined);
}

test('the shared dumps and 2,000 syzbot reports through the API and two workers, one with its own index and one asking the service for candidates: stored once, the decisions the embedded store makes in the same order', async () => {
  const db = await freshDb();
  await newService(db);
  startWorker(db);
  // The other keeps no index: the service's answers its searches (what `vaat fleet up` starts).
  const remote = startWorker(db, ['--candidates', svc.url], { VAAT_TOKEN: TOKEN });
  const dumps = fixtures().map((f) => path.join(f.dir, f.meta.dump));
  const logs = syzbotReports().slice(0, 2000).map((r) => ({ name: `${r.id}.txt`, text: r.report }));
  const ids: string[] = [];
  const inputOf = new Map<string, string>();
  for (const d of dumps) {
    const r = await api('POST', '/v1/ingest', { path: d });
    assert.equal(r.status, 202, r.text);
    ids.push(r.json.job);
    inputOf.set(r.json.job, d);
  }
  for (const l of logs) {
    const r = await api('POST', '/v1/ingest', l);
    assert.equal(r.status, 202, r.text);
    ids.push(r.json.job);
  }
  const jobs = await waitJobs(ids);
  const failed = [...jobs.values()].filter((j) => j.state !== 'completed');
  assert.deepEqual(failed, []);
  // Both workers decided (the service's counter: the remote one asked it once per ingest, at least).
  const searches = Number(/vaat_candidate_searches_total (\d+)/.exec((await api('GET', '/metrics')).text)?.[1] ?? 0);
  assert.ok(searches > 300, `the service answered ${searches} candidate searches; the remote worker said: ${(remote as ChildProcess & { err: () => string }).err()}`);
  await stopWorkers();

  // Stored once: as many signatures as distinct inputs (hashes computed here, not by vaat).
  const store = await PgStore.open(db);
  const crypto = await import('node:crypto');
  const distinctLogs = new Set(logs.map((l) => crypto.createHash('sha256').update(l.text, 'latin1').digest('hex'))).size;
  assert.equal(await store.count(), dumps.length + distinctLogs);
  const fleetDecisions = (await store.decisions()).reverse();
  assert.equal(fleetDecisions.length, await store.count(), "one decision per stored input");

  // The embedded store, fed the same inputs in the fleet's commit order.
  const byName = new Map(logs.map((l) => [l.name, l.text]));
  const sqlite = openSqliteStore(path.join(tmp, 'embedded'));
  const engine = await Engine.open(sqlite);
  const local: Array<{ input: string; decision: string; issue: number | null; score: number | null }> = [];
  for (const d of fleetDecisions) {
    let sig;
    let logText: string | null;
    if (byName.has(d.input)) {
      logText = byName.get(d.input)!;
      sig = signatureFromConsole(logText, d.input);
    } else {
      const r = await extract({ path: d.input, as: 'dump', program: {} });
      assert.ok(r.ok);
      sig = r.signature;
      logText = r.logText;
    }
    await engine.ingest(sig, { path: byName.has(d.input) ? null : d.input, logText });
  }
  for (const d of (await sqlite.decisions()).reverse()) local.push({ input: d.input, decision: d.decision, issue: d.issueId, score: d.score });
  // Match over HTTP (PostgreSQL's one-statement candidate read) and the embedded engine's match give the same answer.
  const shape = (m: { decision: { verdict: string; issue: number | null }; matches: Array<{ issue: number; title: string; status: string; score: number; families: unknown; signature: { name: string; kind: string } }> }) =>
    JSON.stringify({ d: m.decision.verdict, i: m.decision.issue, m: m.matches.map((x) => [x.issue, x.title, x.status, x.score, x.families, x.signature.name, x.signature.kind]) });
  let compared = 0;
  for (const l of logs.filter((_, i) => i % 100 === 7)) {
    const overHttp = await api('POST', '/v1/match', l.text);
    assert.equal(overHttp.status, 200, overHttp.text);
    assert.equal(shape(overHttp.json), shape(await engine.match(signatureFromConsole(l.text, l.name))), l.name);
    compared++;
  }
  assert.equal(compared, 20);
  // Names counted per known issue (scorer version 8): PostgreSQL kept them in its one-statement
  // membership writes, SQLite in its own; the same inputs and decisions give the same counts.
  const sortedCounts = (m: Map<string, number>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const [pgNames, liteNames] = [await store.nameCounts(), await sqlite.nameCounts()];
  assert.equal(pgNames.issues, liteNames.issues);
  assert.ok(pgNames.df.size > 1000);
  assert.deepEqual(sortedCounts(pgNames.df), sortedCounts(liteNames.df));
  await engine.close();
  const fleet = fleetDecisions.map((d) => ({ input: d.input, decision: d.decision, issue: d.issueId, score: d.score }));
  const differ = fleet.filter((f, i) => JSON.stringify(f) !== JSON.stringify(local[i]));
  // Both sides of the first few that differ, in the message.
  assert.deepEqual(differ.slice(0, 5), [], `${differ.length} decisions differ (fleet, embedded): ${JSON.stringify(differ.slice(0, 3).map((f) => [f, local[fleet.indexOf(f)]]))}`);
  const counts = fleet.reduce((a: Record<string, number>, d) => ((a[d.decision] = (a[d.decision] ?? 0) + 1), a), {});
  console.log(`fleet decisions for ${fleet.length} inputs: ${JSON.stringify(counts)}`);
  assert.ok((counts.duplicate ?? 0) > 50 && (counts.new ?? 0) > 1000);

  // Match over HTTP answers from the same store: a stored report matches itself at 1.
  const m = await api('POST', '/v1/match', logs[3]!.text);
  assert.equal(m.status, 200, m.text);
  assert.equal(m.json.matches[0].score, 1);
  const issues = await api('GET', '/v1/issues');
  assert.equal(issues.status, 200);
  assert.ok(issues.json.length > 1000);
  // A person's merge and split over the API move the names' counts with the members: the kept
  // counts equal a count made from scratch over every issue's members.
  const two = issues.json.filter((i: { size: number }) => i.size >= 2).slice(0, 2);
  assert.equal((await api('POST', `/v1/issues/${two[0].id}/merge`, { from: two[1].id })).status, 200);
  const moved = (await store.members(two[0].id)).map((x) => x.signatureId);
  assert.equal((await api('POST', `/v1/issues/${two[0].id}/split`, { signatures: [moved[moved.length - 1]] })).status, 200);
  const scratch = new Map<string, Set<number>>();
  for (const i of await store.issues()) {
    const ms = (await store.members(i.id)).filter((x) => !x.pending);
    const vs = await store.views(ms.map((x) => x.signatureId));
    for (const x of ms) for (const n of rarityNames(vs.get(x.signatureId)!)) (scratch.get(n) ?? scratch.set(n, new Set()).get(n)!).add(i.id);
  }
  const keptNames = (await store.nameCounts()).df;
  assert.deepEqual([...keptNames].sort((a, b) => (a[0] < b[0] ? -1 : 1)), [...scratch].map(([n, x]) => [n, x.size] as [string, number]).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  const metrics = await api('GET', '/metrics');
  assert.match(metrics.text, /vaat_jobs_submitted_total\{kind="log"\} 2000/);
  assert.match(metrics.text, /vaat_queue_jobs\{state="completed"\} \d+/);

  // The service is kept current by notices, never asked: a signature another node stores is
  // matched over HTTP within a second (LISTEN, then a paced catch-up in the background). Reports
  // that nothing stored matches at 1 yet, so that only the new signature can; three in a row, each
  // stored as soon as the one before is matched, so that each notice comes right after a catch-up
  // (where a slow pace would hold it back). One decided uncertain waits for a person (a pending
  // member is no match for anything) and is passed over.
  const other = await Engine.open(store);
  let checked = 0;
  for (const r of syzbotReports().slice(2000, 2300)) {
    if (checked === 3) break;
    const before = await api('POST', '/v1/match', r.report);
    if (before.status !== 200 || (before.json.matches[0]?.score ?? 0) >= 1) continue;
    const stored = await other.ingest(signatureFromConsole(r.report, `fresh-${r.id}.txt`), { path: null, logText: r.report });
    if (stored.decision === 'uncertain' || stored.decision === 'same-dump') continue;
    const t0 = Date.now();
    let seenAfter = -1;
    while (Date.now() - t0 < 1000) {
      const m = await api('POST', '/v1/match', r.report);
      if (m.status === 200 && m.json.matches.some((x: { signature: { id: number } }) => x.signature.id === stored.signature)) {
        seenAfter = Date.now() - t0;
        break;
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.ok(seenAfter >= 0, `${r.id} (${stored.decision}): a signature stored by another node is matched by the service within a second`);
    checked++;
  }
  assert.equal(checked, 3, 'three reports stored by another node and matched');
  await other.close();
});

test('a worker kill -9ed mid-job: the job is retried by another worker, stored once', async () => {
  const db = await freshDb();
  await newService(db);
  const w = startWorker(db);
  const dump = path.join(fixtures()[0]!.dir, fixtures()[0]!.meta.dump);
  const r = await api('POST', '/v1/ingest', { path: dump });
  assert.equal(r.status, 202);
  // Wait until the worker holds the job, then kill it before it commits.
  for (let i = 0; i < 400; i++) {
    const j = await api('GET', `/v1/jobs/${r.json.job}`);
    if (j.json.state === 'active') break;
    await new Promise((res) => setTimeout(res, 5));
  }
  w.kill('SIGKILL');
  await new Promise((res) => w.once('exit', res));
  const mid = await api('GET', `/v1/jobs/${r.json.job}`);
  assert.notEqual(mid.json.state, 'completed', 'killed before it finished');
  // The retry goes to a worker of the other kind: asking the service for candidates.
  startWorker(db, ['--candidates', svc.url], { VAAT_TOKEN: TOKEN });
  const done = (await waitJobs([r.json.job], 120_000)).get(r.json.job);
  assert.equal(done.state, 'completed');
  const store = await PgStore.open(db);
  assert.equal(await store.count(), 1);
  assert.equal((await store.decisions()).filter((d) => d.decision !== 'failed').length, 1);
  await store.close();
  await stopWorkers();
});

test('Redis restarted mid-run: workers reconnect, every acknowledged job completes', async () => {
  const db = await freshDb();
  await newService(db);
  // Both asking the service for candidates, as vaat fleet up starts them.
  startWorker(db, ['--candidates', svc.url], { VAAT_TOKEN: TOKEN });
  startWorker(db, ['--candidates', svc.url], { VAAT_TOKEN: TOKEN });
  const { logs, ids } = await submitLogs(2000, 2300);
  await new Promise((res) => setTimeout(res, 1500));
  await redis.stop();
  // While Redis is down the API says so.
  const down = await api('POST', '/v1/ingest', logs[0]!);
  assert.equal(down.status, 503, down.text);
  await new Promise((res) => setTimeout(res, 1000));
  await redis.start();
  const jobs = await waitJobs(ids, 300_000);
  assert.equal([...jobs.values()].filter((j) => j.state === 'completed').length, ids.length);
  await assertStoredOnce(db, logs);
  await stopWorkers();
});

test('a PostgreSQL store of schema 2 is migrated (with a notice) and then announces changes: a membership, an issue, a config value, signature rows', async () => {
  const db = await freshDb();
  const pgmod = (await import('pg')).default;
  const c = new pgmod.Client({ connectionString: db });
  await c.connect();
  await c.query('CREATE TABLE vaat_schema (version INTEGER NOT NULL)');
  for (const m of PG_MIGRATIONS.filter((x) => x.version <= 2)) await c.query(m.sql);
  await c.query('INSERT INTO vaat_schema (version) VALUES (2)');
  const notices: string[] = [];
  const store = await PgStore.open(db, { notice: (l) => notices.push(l) });
  assert.deepEqual(notices, [`PostgreSQL store schema migrated from 2 to ${PG_SCHEMA_VERSION}`]);
  assert.equal((await store.meta()).schemaVersion, PG_SCHEMA_VERSION);
  const engine = await Engine.open(store);
  const r = syzbotReports()[3]!;
  const stored = await engine.ingest(signatureFromConsole(r.report, 'a.txt'), { path: null, logText: r.report });
  const got: string[] = [];
  await c.query('LISTEN vaat_changes');
  c.on('notification', (m) => got.push(m.payload ?? ''));
  const issue = stored.issue!;
  await store.updateIssue(issue, { title: 'x' });
  await store.setConfig('thresholds', { console: { duplicate: 0.9, new: 0.5 }, vmcore: { duplicate: 0.9, new: 0.5 } });
  const other = await store.createIssue('y');
  await store.setMembership(stored.signature!, other.id, 'human', null);
  await c.query('UPDATE signatures SET title = title');
  for (let i = 0; i < 100 && got.length < 4; i++) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(got, [`i${issue}`, 'cthresholds', `m${stored.signature}`, 's']);
  await engine.close();
  await c.end();
});

test('a query node answers matches from its memory, and what another node changes reaches its answers within a second: a split, a title, a status, the thresholds', async () => {
  const db = await freshDb();
  // Another node: an engine of its own on the same database.
  const store = await PgStore.open(db);
  const other = await Engine.open(store);
  const reports = syzbotReports().slice(0, 30);
  for (const r of reports) await other.ingest(signatureFromConsole(r.report, `${r.id}.txt`), { path: null, logText: r.report });
  await newService(db);
  const q = reports[7]!;
  const stored = (await store.findByHash(signatureFromConsole(q.report, 'q.txt').source.hash))!;
  const match = async () => {
    const m = await api('POST', '/v1/match', q.report);
    assert.equal(m.status, 200, m.text);
    return m.json;
  };
  const first = await match();
  assert.equal(first.matches[0].signature.id, stored.id);
  const issue = first.matches[0].issue as number;
  assert.equal(issue, (await store.membership(stored.id))!.issueId);
  const counts = async () => {
    const t = (await api('GET', '/metrics')).text;
    const n = (from: string) => Number(new RegExp(`^vaat_match_candidates_total\\{from="${from}"\\} (\\d+)$`, 'm').exec(t)?.[1] ?? NaN);
    return { memory: n('memory'), store: n('store') };
  };
  const c0 = await counts();
  for (let i = 0; i < 10; i++) await match();
  const c1 = await counts();
  // Ten matches of the same report in well under TRUST_MS: at most one reads the store (once it is due again).
  assert.ok(c1.memory - c0.memory >= 9 && c1.store - c0.store <= 1, `remembered ${c1.memory - c0.memory}, read ${c1.store - c0.store}`);

  // Each change by the other node must show in the service's answer within a second.
  const within = async (what: string, ok: (m: any) => boolean) => {
    const t0 = Date.now();
    for (;;) {
      const m = await match();
      if (ok(m)) return;
      assert.ok(Date.now() - t0 < 1000, `${what}: the service's answer did not change within a second`);
      await new Promise((res) => setTimeout(res, 10));
    }
  };
  const { splitIssue, retitle, setStatus } = await import('../../src/similarity/issues.js');
  await splitIssue(store, issue, [String(stored.id)]);
  const moved = (await store.membership(stored.id))!.issueId;
  assert.notEqual(moved, issue);
  await within('a split', (m) => m.matches[0].issue === moved);
  await retitle(store, moved, 'renamed by another node');
  await within('a title', (m) => m.matches[0].title === 'renamed by another node');
  await setStatus(store, moved, 'closed');
  await within('a status', (m) => m.matches[0].status === 'closed');
  const { defaultThresholds } = await import('../../src/similarity/decide.js');
  const t = defaultThresholds();
  const raised = Math.min(1, t.console.duplicate + 0.01);
  await store.setConfig('thresholds', { ...t, console: { ...t.console, duplicate: raised } });
  assert.equal(first.decision.scale, 'console');
  assert.notEqual(first.decision.duplicate, raised);
  await within('the thresholds', (m) => m.decision.duplicate === raised);
  await other.close();
});

test('PostgreSQL restarted: 503 meanwhile, answers again after', async () => {
  const db = await freshDb();
  await newService(db);
  const report = syzbotReports()[5]!.report;
  assert.equal((await api('POST', '/v1/match', report)).status, 200);
  await pgs.stop();
  const m = await api('POST', '/v1/match', report);
  assert.equal(m.status, 503, m.text);
  assert.equal((await api('GET', '/healthz')).status, 503);
  await pgs.start();
  let ok = 0;
  for (let i = 0; i < 50 && ok !== 200; i++) {
    ok = (await api('POST', '/v1/match', report)).status;
    if (ok !== 200) await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(ok, 200);
  assert.equal((await api('GET', '/healthz')).status, 200);
});

test('PostgreSQL stopped while workers hold jobs: the jobs wait, spend no attempt, reach no dead-letter queue, and all complete once it is back', async () => {
  const db = await freshDb();
  await newService(db);
  const own = startWorker(db) as ChildProcess & { err: () => string };
  startWorker(db, ['--candidates', svc.url], { VAAT_TOKEN: TOKEN });
  const { logs, ids } = await submitLogs(2300, 2600);
  await new Promise((res) => setTimeout(res, 1000));
  await pgs.stop();
  // Longer than a job's three attempts take with their backoff (1 s, then 2 s).
  await new Promise((res) => setTimeout(res, 6000));
  const q = new Queue(INGEST_QUEUE, { connection: redisConnection(redis.url) });
  const dead = new Queue(DEAD_QUEUE, { connection: redisConnection(redis.url) });
  const states = await Promise.all(ids.map(async (id) => (await q.getJob(id))!.getState()));
  assert.deepEqual(states.filter((s) => s === 'failed'), [], 'nothing failed while the database was down');
  assert.ok(states.includes('delayed'), `jobs wait: ${[...new Set(states)]}: ${own.err()}`);
  assert.match(own.err(), /PostgreSQL is unavailable: .*jobs wait/);
  await pgs.start();
  await assertFirstAttempts(ids, dead, 300_000);
  await q.close();
  await dead.close();
  await assertStoredOnce(db, logs);
  await stopWorkers();
});

test('PostgreSQL\'s disk fills while workers hold jobs: the failed writes leave nothing behind, the jobs wait without spending attempts, none is dead-lettered, matches are still answered; with room again all complete, stored once', async (t) => {
  // The database's tables on a tablespace of their own, on a small tmpfs: the writes fail with
  // "could not extend file … No space left on device" (53100) while the server and its write-ahead
  // log (on the big disk) go on, as when a data volume fills.
  const fsm = mountTmpfs(path.join(tmp, 'small'), 3);
  if (!fsm.mounted) {
    t.skip(`needs a small filesystem of its own (${fsm.how})`);
    return;
  }
  const loc = path.join(tmp, 'small', 'ts');
  fs.mkdirSync(loc);
  const pgUser = postgresUser();
  if (process.getuid?.() === 0) fs.chownSync(loc, pgUser.uid, pgUser.gid);
  const admin = await PgStore.open(pgs.url);
  const name = `t${++dbn}`;
  const q = new Queue(INGEST_QUEUE, { connection: redisConnection(redis.url) });
  const dead = new Queue(DEAD_QUEUE, { connection: redisConnection(redis.url) });
  // Whatever the test found, room again first — workers waiting on the database must be able to
  // finish — then everything it opened closed, or the suite's process would not end.
  t.after(async () => {
    fs.rmSync(path.join(tmp, 'small', 'filler'), { force: true });
    fsm.grow(256);
    await stopWorkers();
    await q.close();
    await dead.close();
    await newService(await freshDb());
    await admin.pool.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.pool.query('DROP TABLESPACE IF EXISTS small');
    await admin.close();
    fsm.release();
  });
  await admin.pool.query(`CREATE TABLESPACE small LOCATION '${loc}'`);
  await admin.pool.query(`CREATE DATABASE ${name} TABLESPACE small`);
  const db = pgs.url.replace(/\/postgres$/, `/${name}`);
  await newService(db);
  const w = startWorker(db) as ChildProcess & { err: () => string };
  const remote = startWorker(db, ['--candidates', svc.url], { VAAT_TOKEN: TOKEN }) as ChildProcess & { err: () => string };
  const { logs, ids } = await submitLogs(2600, 2900);
  const said = () => w.err() + remote.err();
  for (let i = 0; i < 600 && !/cannot take writes/.test(said()); i++) await new Promise((res) => setTimeout(res, 200));
  assert.match(said(), /PostgreSQL cannot take writes: .*\(53100\): jobs wait/, 'the disk filled and a worker said so');
  t.diagnostic(said().split('\n').find((l) => /cannot take writes/.test(l))!);
  // Longer than a job's three attempts take with their backoff (1 s, then 2 s).
  await new Promise((res) => setTimeout(res, 4000));
  const states = await Promise.all(ids.map(async (id) => (await q.getJob(id))!.getState()));
  assert.deepEqual(states.filter((s) => s === 'failed'), [], 'nothing failed while the disk was full');
  assert.ok(states.includes('delayed'), `jobs wait: ${[...new Set(states)]}`);
  const waiting = states.filter((s) => s !== 'completed').length;
  assert.ok(waiting > 0 && waiting < ids.length, `some were stored before the disk filled, some wait: ${waiting} of ${ids.length}`);
  t.diagnostic(`${ids.length - waiting} of ${ids.length} stored before the disk filled`);
  // Reads go on: a stored log is matched to its own issue at score 1.
  const done = await waitJobs(ids.filter((_, i) => states[i] === 'completed').slice(0, 1));
  const first = [...done.values()][0]!.result;
  const m = await api('POST', '/v1/match', logs[ids.indexOf([...done.keys()][0]!)]!.text);
  assert.equal(m.status, 200, m.text);
  assert.equal(m.json.matches[0].issue, first.issue);
  assert.equal(m.json.matches[0].score, 1);
  // A person's write the database cannot take is not theirs to fix: 503 with a retry time (it was
  // 400 with PostgreSQL's message). The last bytes of the filesystem taken, a write still fits while
  // its table's pages have room: the signature moves to a new issue again and again (each a new
  // issue row) until one is refused; every answer before is a success.
  const filler = fs.openSync(path.join(tmp, 'small', 'filler'), 'w');
  for (const size of [1 << 16, 1 << 12]) {
    try {
      for (;;) fs.writeSync(filler, Buffer.alloc(size));
    } catch {
      /* ENOSPC: full */
    }
  }
  fs.closeSync(filler);
  let at = first.issue as number;
  let refused: { status: number; json: any; text: string } | null = null;
  for (let i = 0; i < 200 && !refused; i++) {
    const sp = await api('POST', `/v1/issues/${at}/split`, { signatures: [String(first.signature)] });
    if (sp.status === 503) refused = sp;
    else {
      assert.equal(sp.status, 200, sp.text);
      at = Number(/new issue #(\d+)/.exec(sp.json.done)![1]);
    }
  }
  assert.ok(refused, 'a write was refused');
  assert.match(refused.json.error, /^unavailable: the store cannot take writes: .*No space left on device \(53100\)/);
  fs.rmSync(path.join(tmp, 'small', 'filler'));
  // Room again: every job completes on its first attempt, each log stored once.
  fsm.grow(256);
  await assertFirstAttempts(ids, dead, 300_000);
  await assertStoredOnce(db, logs);
});

test('Redis cannot write its append-only file (disk full): submissions are refused 503 with a retry time, not 500; with room again they are taken, and every job taken completes, stored once', async (t) => {
  // deploy/redis-vaat.conf's appendfsync everysec: Redis stays up and refuses writes (MISCONF …);
  // with always it exits, which is the restart above.
  const fsm = mountTmpfs(path.join(tmp, 'rsmall'), 2);
  if (!fsm.mounted) {
    t.skip(`needs a small filesystem of its own (${fsm.how})`);
    return;
  }
  const small = await startRedis(path.join(tmp, 'rsmall', 'redis'), undefined, { appendfsync: 'everysec' });
  t.after(async () => {
    fsm.grow(64);
    await stopWorkers();
    await newService(await freshDb());
    await small.stop();
    fsm.release();
  });
  await svc?.close();
  const db = await freshDb();
  svc = await startService({ pg: db, redis: small.url, port: await freePort(), token: TOKEN, roots: [KERNEL_DIR] });
  const w = startWorker(db, [], {}, small.url) as ChildProcess & { err: () => string };
  const logs = syzbotReports().slice(1000, 1600).map((r) => ({ name: `${r.id}.txt`, text: r.report }));
  let taken = 0;
  const ids: string[] = [];
  let refused: { status: number; json: any; text: string } | null = null;
  for (const l of logs) {
    const r = await api('POST', '/v1/ingest', l);
    if (r.status !== 202) {
      refused = r;
      break;
    }
    ids.push(r.json.job);
    taken++;
  }
  assert.ok(refused, `Redis's 2 MiB took all ${logs.length} jobs`);
  t.diagnostic(`${taken} jobs taken before Redis refused writes`);
  assert.equal(refused.status, 503, refused.text);
  assert.match(refused.json.error, /^unavailable: Redis cannot take writes: MISCONF Errors writing to the AOF file: No space left on device$/);
  // Reads still answer.
  const j = await api('GET', `/v1/jobs/${ids[0]}`);
  assert.equal(j.status, 200, j.text);
  // Room again: Redis retries its file every second and takes writes once it can.
  fsm.grow(64);
  let again = 0;
  for (let i = 0; i < 50 && again !== 202; i++) {
    const r = await api('POST', '/v1/ingest', logs[taken]!);
    again = r.status;
    if (again === 202) ids.push(r.json.job);
    else await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(again, 202);
  // No acknowledged job lost: the worker, whose own writes to Redis failed meanwhile, completes them
  // all, each log stored once.
  const jobs = await waitJobs(ids, 300_000);
  assert.deepEqual([...jobs.values()].filter((x) => x.state !== 'completed').map((x) => `${x.id}: ${x.error}`), [], w.err());
  t.diagnostic(`worker: ${w.err().split('\n').filter((l) => /MISCONF/.test(l)).length} lines about Redis refusing writes; attempts ${JSON.stringify([...new Set([...jobs.values()].map((x) => x.attempts))])}`);
  await assertStoredOnce(db, logs.slice(0, taken + 1));
  await stopWorkers();
});

test('POST /v1/candidates refuses what is not a vector of its index (400) or comes without the token (401); a worker asking it: a wrong token or another store stops it at start; with the service down its jobs wait, spend no attempt, reach no dead-letter queue, and all complete once the service is back', async () => {
  const db = await freshDb();
  await newService(db);
  const port = Number(new URL(svc.url).port);
  const { logs, ids } = await submitLogs(2300, 2340);
  // The endpoint itself: the token always, and a vector of the index's layout, checked before any search.
  const dim = svc.engine.dimension;
  const vec = (xs: number[]) => encodeVector(Float32Array.from(xs));
  const ok = await api('POST', '/v1/candidates', { vector: vec(Array.from({ length: dim }, (_, i) => (i === 3 ? 1 : 0))), k: 5 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(typeof ok.json.seq, 'number');
  assert.ok(Array.isArray(ok.json.candidates));
  assert.equal((await api('POST', '/v1/candidates', { vector: vec([1, 0]), k: 5 }, null)).status, 401);
  const refusals: Array<[unknown, RegExp]> = [
    [{ vector: vec([1, 0, 0]), k: 5 }, new RegExp(`3 dimensions, the index has ${dim}`)],
    [{ vector: vec(Array.from({ length: dim }, (_, i) => (i === 7 ? NaN : 0))), k: 5 }, /component 7 is not a finite number/],
    [{ vector: '<script>', k: 5 }, /pattern/],
    [{ vector: vec([1]), k: 0 }, />= 1/],
    [{ vector: vec([1]), k: 100000 }, /<= 200/],
  ];
  for (const [body, why] of refusals) {
    const r = await api('POST', '/v1/candidates', body);
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
    assert.match(r.json.error, why);
  }

  const bad = startWorker(db, ['--candidates', svc.url], { VAAT_TOKEN: 'not-the-token-0123456789' }) as ChildProcess & { err: () => string };
  const code = await new Promise((res) => bad.once('exit', res));
  assert.equal(code, 1, bad.err());
  assert.match(bad.err(), /candidate service .*401.*check --candidates, --pg and the token/);
  // A worker of another store: the service's ids would be scored as its own signatures.
  const elsewhere = startWorker(await freshDb(), ['--candidates', svc.url], { VAAT_TOKEN: TOKEN }) as ChildProcess & { err: () => string };
  assert.equal(await new Promise((res) => elsewhere.once('exit', res)), 1, elsewhere.err());
  assert.match(elsewhere.err(), /answers for the store created \S+, this node's was created \S+ \(postgres:\/\/\S+\) \(check --candidates, --pg and the token\)/);

  await svc.close();
  const w = startWorker(db, ['--candidates', `http://127.0.0.1:${port}`], { VAAT_TOKEN: TOKEN }) as ChildProcess & { err: () => string };
  const q = new Queue(INGEST_QUEUE, { connection: redisConnection(redis.url) });
  const dead = new Queue(DEAD_QUEUE, { connection: redisConnection(redis.url) });
  await new Promise((res) => setTimeout(res, 5000));
  const states = await Promise.all(ids.map(async (id) => (await q.getJob(id))!.getState()));
  assert.deepEqual(states.filter((s) => s === 'completed' || s === 'failed'), [], 'nothing decided, nothing failed without the candidate service');
  assert.ok(states.includes('delayed'), `jobs wait: ${[...new Set(states)]}`);
  assert.match(w.err(), /candidate service http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED: jobs wait/);

  svc = await startService({ pg: db, redis: redis.url, port, token: TOKEN, roots: [KERNEL_DIR] });
  await assertFirstAttempts(ids, dead, 120_000);
  await q.close();
  await dead.close();
  await assertStoredOnce(db, logs);
  await stopWorkers();
});

test('a poison input lands in the dead-letter queue with its error after the retries', async () => {
  const db = await freshDb();
  await newService(db);
  startWorker(db);
  const junk = Buffer.alloc(4096, 1).toString('latin1');
  const r = await api('POST', '/v1/ingest', { name: 'poison.log', text: junk });
  assert.equal(r.status, 202);
  const j = (await waitJobs([r.json.job], 120_000)).get(r.json.job);
  assert.equal(j.state, 'failed');
  assert.equal(j.attempts, 3);
  assert.match(j.error, /control bytes/);
  const dead = new Queue(DEAD_QUEUE, { connection: redisConnection(redis.url) });
  let d = null;
  for (let i = 0; i < 50 && !d; i++) {
    d = await dead.getJob(`dead-${r.json.job}`);
    if (!d) await new Promise((res) => setTimeout(res, 100));
  }
  await dead.close();
  assert.ok(d, 'in the dead-letter queue');
  assert.match(d!.data.error, /control bytes/);
  assert.equal(d!.data.attempts, 3);
  await stopWorkers();
});

test('writes without the token are refused; dump paths outside the roots, through "..", or through a symlink escape are refused', async () => {
  const db = await freshDb();
  await newService(db);
  const dump = path.join(fixtures()[0]!.dir, fixtures()[0]!.meta.dump);
  assert.equal((await api('POST', '/v1/ingest', { path: dump }, null)).status, 401);
  assert.equal((await api('POST', '/v1/ingest', { path: dump }, 'wrong-token-0123456789abcdef')).status, 401);
  assert.equal((await api('POST', '/v1/issues/1/merge', { from: 2 }, null)).status, 401);
  assert.equal((await api('POST', '/v1/ingest', { path: '/etc/passwd' })).status, 403);
  assert.equal((await api('POST', '/v1/ingest', { path: `${KERNEL_DIR}/../../../../etc/passwd` })).status, 403);
  assert.equal((await api('POST', '/v1/ingest', { path: 'relative/vmcore' })).status, 403);
  // A symlink inside a root that points outside it.
  const root = tempDir('vaat-root-');
  fs.symlinkSync('/etc', path.join(root, 'escape'));
  await svc.close();
  svc = await startService({ pg: db, redis: redis.url, port: await freePort(), token: TOKEN, roots: [root] });
  const esc = await api('POST', '/v1/ingest', { path: path.join(root, 'escape', 'passwd') });
  assert.equal(esc.status, 403);
  assert.match(esc.json.error, /outside the configured roots/);
  // Oversized match bodies are refused; reads stay open without a token.
  assert.equal((await api('POST', '/v1/match', 'x'.repeat((1 << 20) + 1024), null)).status, 413);
  assert.equal((await api('GET', '/v1/issues', undefined, null)).status, 200);
  // An unknown route answers in the API's one error shape.
  const none = await api('DELETE', '/v1/issues/1?x=1');
  assert.equal(none.status, 404);
  assert.deepEqual(none.json, { error: 'no route DELETE /v1/issues/1' });
});
