// The similarity engine at scale: N signatures (default 1,000,000) made from
// real ones — the syzbot corpus's reports, the shared dumps, and the lab set
// when it is there — each perturbed into many distinct variants (frames
// swapped for frames of other reports, frames dropped, kernel releases
// moved), ingested through the engine as already-extracted signatures
// (store + index + decision, in batches under one write lock), then queried
// through match's code path. Reports build time, ingest rate, index bytes,
// peak RSS, query p50/p99, and recall@10 of HNSW against exact (brute-force
// inner product) search; and `vaat ingest --jobs 2` against `--jobs 1` on
// dumps.
//
//   npm run build && node bench/similarity.mjs [--n 1000000] [--queries 1000] [--lab DIR] [--out DIR] [--reuse] [--keep] [--ef N] [--efc N] [--skip-jobs | --jobs-only]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { ROOT, SHARED, VAAT, table, fmt, watchThreads, coresCeiling, hnswAddonBuild } from './lib.mjs';
import { realSignatures } from './variants.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : d;
};
const N = Number(opt('--n', 1_000_000));
const Q = Number(opt('--queries', 1000));
const LAB = opt('--lab', process.env.VAAT_LAB ?? '/work/labset');
const OUT = opt('--out', path.join(os.tmpdir(), `vaat-bench-sim-${process.pid}`));
const d = (p) => path.join(ROOT, 'dist', p);
const { openSqliteStore } = await import(d('src/similarity/sqlite.js'));
const { Engine } = await import(d('src/similarity/engine.js'));
const { vectorize } = await import(d('features/vector.js'));

async function jobsComparison() {
  // ingest --jobs 2 against --jobs 1 on dumps (the lab's when present: more than two cores' worth of work).
  const dumpDirs = fs.existsSync(path.join(LAB, '6.1.0-56-amd64')) ? [path.join(LAB, '6.1.0-56-amd64')] : [path.join(SHARED, 'vmcores')];
  const runIngest = (jobs) => new Promise((resolve, reject) => {
    const s = path.join(OUT, `jobs${jobs}`);
    fs.rmSync(s, { recursive: true, force: true });
    const a = performance.now();
    const c = spawn(process.execPath, [VAAT, 'ingest', '--store', s, '--jobs', String(jobs), '--json', ...dumpDirs], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Where its CPU went: the main thread (store, index, decisions) against the extraction threads.
    const threads = watchThreads(c.pid);
    let out = '';
    let err = '';
    c.stdout.on('data', (b) => (out += b));
    c.stderr.on('data', (b) => (err += b));
    c.on('exit', (code) => {
      const cpu = threads();
      if (code !== 0) reject(new Error(`ingest --jobs ${jobs}: ${err}`));
      else resolve({ s: (performance.now() - a) / 1000, n: out.trim().split('\n').length, cpu });
    });
  });
  // Each twice, alternating, the faster kept: both see a warm page cache.
  const best = (a, b) => (a.s <= b.s ? a : b);
  const j1a = await runIngest(1);
  const j2a = await runIngest(2);
  const j1 = best(j1a, await runIngest(1));
  const j2 = best(j2a, await runIngest(2));
  // The machine's own ceiling at the same time: two CPU-bound processes against one (bench/cores.mjs).
  return { j1, j2, ceiling: coresCeiling() };
}

// --jobs-only: only the dumps' --jobs 1 / --jobs 2 comparison, with where the CPU went (bench/results/ingest-jobs.json).
if (argv.includes('--jobs-only')) {
  const { j1, j2, ceiling } = await jobsComparison();
  const res = { dumps: j1.n, jobs1s: j1.s, jobs2s: j2.s, speedup: j1.s / j2.s, jobs1cpu: j1.cpu, jobs2cpu: j2.cpu, coresCeiling: ceiling, cores: os.availableParallelism(), at: new Date().toISOString().slice(0, 10) };
  console.log(JSON.stringify(res, null, 1));
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'ingest-jobs.json'), JSON.stringify(res, null, 1) + '\n');
  process.exit(0);
}

let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const timer = setInterval(sampleRss, 200);

// Real signatures to start from, and distinct variants of them (bench/variants.mjs).
const { base, variant } = await realSignatures(OUT, LAB);

// Ingest: batches of already-extracted signatures under one write lock each. --reuse measures a
// store an earlier run of the same N built (in --out): the variants are made again, not ingested.
const REUSE = argv.includes('--reuse');
const storeDir = path.join(OUT, 'store');
if (!REUSE) fs.rmSync(storeDir, { recursive: true, force: true });
else if (!fs.existsSync(path.join(storeDir, 'store.db'))) throw new Error(`--reuse: no store in ${storeDir}`);
const store = openSqliteStore(storeDir);
// --ef N: search with another efSearch (a --reuse run on a built store measures the trade-off).
// --efc N: build with another efConstruction (an A/B of the build's cost against recall).
const EF = opt('--ef', null);
const EFC = opt('--efc', null);
const { DEFAULT_INDEX } = await import(d('src/similarity/hnsw.js'));
const indexParams = { ...DEFAULT_INDEX, ...(EF ? { efSearch: Number(EF) } : {}), ...(EFC ? { efConstruction: Number(EFC) } : {}) };
const engine = await Engine.open(store, { index: indexParams });
const BATCH = 500;
const t0 = performance.now();
const decisions = {};
let done = 0;
const queries = [];
if (REUSE) {
  // The stored set must be the one this bench makes now: the same rules and the same variants.
  if (engine.stale) throw new Error(`--reuse: ${engine.stale}`);
  const first = await store.vectorsAfter(0, 100);
  for (let i = 0; i < N; i++) {
    const v = variant(base[i % base.length], i);
    if (i < first.length && vectorize(v).some((x, k) => Math.abs(x - first[i].vector[k]) > 1e-6)) throw new Error(`--reuse: stored signature ${first[i].id} is not variant ${i} as this bench makes it (another generator or other rules): build the store again`);
  }
  done = N;
  if ((await store.count()) !== N) throw new Error(`--reuse: the store holds ${await store.count()} signatures, not ${N}`);
}
while (done < N) {
  const n = Math.min(BATCH, N - done);
  const sigs = [];
  for (let j = 0; j < n; j++) sigs.push(variant(base[(done + j) % base.length], done + j));
  await store.exclusive(async () => {
    for (const s of sigs) {
      const r = await engine.ingest(s, { path: null, logText: null });
      decisions[r.decision] = (decisions[r.decision] ?? 0) + 1;
    }
  });
  done += n;
  sampleRss();
  if (done % 50000 === 0 || done === N) console.error(`bench: ${done} ingested, ${(done / ((performance.now() - t0) / 1000)).toFixed(0)}/s, RSS ${(peakRss / 2 ** 20).toFixed(0)} MB`);
}
const ingestS = REUSE ? null : (performance.now() - t0) / 1000;
const t1 = performance.now();
await engine.save();
const saveS = (performance.now() - t1) / 1000;
// Queries: variants of real signatures made after the stored ones (a deterministic pick of bases).
let qseed = 4242;
const rnd = () => {
  qseed = (Math.imul(qseed, 1103515245) + 12345) & 0x7fffffff;
  return qseed / 0x7fffffff;
};
for (let q = 0; q < Q; q++) queries.push(variant(base[Math.floor(rnd() * base.length)], N + q));

// Queries through match's code path (HNSW top-50, exact re-ranking, issues).
const lat = [];
for (const q of queries) {
  const a = performance.now();
  await engine.match(q, { k: 5 });
  lat.push(performance.now() - a);
}
lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];

// Recall@10 of the index against exact inner-product search over every stored vector.
const R = Math.min(200, Q);
// Every stored vector in one flat array: the exact search is one pass of dot products.
const count = await store.count();
let dim = 0;
let flat = null;
const ids = new Int32Array(count);
let at = 0;
for (let after = 0; ; ) {
  const rows = await store.vectorsAfter(after, 20000);
  if (!rows.length) break;
  if (!flat) {
    dim = rows[0].vector.length;
    flat = new Float32Array(count * dim);
  }
  for (const r of rows) {
    flat.set(r.vector, at * dim);
    ids[at++] = r.id;
  }
  after = rows[rows.length - 1].id;
}
const row = new Map();
for (let i = 0; i < at; i++) row.set(ids[i], i);
const distinctVectors = new Set();
for (let i = 0; i < at; i++) distinctVectors.add(crypto.createHash('sha1').update(flat.subarray(i * dim, (i + 1) * dim)).digest('base64'));
const { VectorIndex } = await import(d('src/similarity/hnsw.js'));
const ix = await VectorIndex.open(store, storeDir, { dimension: dim, vectorVersion: (await store.meta()).vectorVersion, params: indexParams });
let hit = 0;
const dotRow = (v, i) => {
  let s = 0;
  const o = i * dim;
  for (let k = 0; k < dim; k++) s += v[k] * flat[o + k];
  return s;
};
const scores = new Float64Array(at);
for (let q = 0; q < R; q++) {
  const v = vectorize(queries[q]);
  for (let i = 0; i < at; i++) scores[i] = dotRow(v, i);
  // The 10th best exact score; near-duplicates tie: a returned item counts when its exact score reaches it.
  const tenth = [...scores].sort((a, b) => b - a)[9] - 1e-6;
  hit += ix.search(v, 10).filter((x) => dotRow(v, row.get(x.id)) >= tenth).length / 10;
}
// The loops above never yield to the timer: sample once more with every vector in memory.
sampleRss();
const indexBytes = fs.statSync(path.join(storeDir, 'index.hnsw')).size;
const dbBytes = fs.statSync(path.join(storeDir, 'store.db')).size;
await store.close();
clearInterval(timer);

// --skip-jobs: leave the dumps out (a --reuse run that only measures queries).
const SKIP = argv.includes('--skip-jobs');
const none = { s: NaN, n: 0 };
const { j1, j2, ceiling } = SKIP ? { j1: none, j2: none, ceiling: null } : await jobsComparison();


const res = {
  signatures: N, realSignatures: base.length, reused: REUSE, efSearch: indexParams.efSearch, m: indexParams.m, efConstruction: indexParams.efConstruction, hnswAddon: await hnswAddonBuild(), ingestSeconds: ingestS, ingestPerSecond: ingestS === null ? null : N / ingestS, saveSeconds: saveS,
  distinctVectors: distinctVectors.size, indexBytes, dbBytes, peakRssMB: peakRss / 2 ** 20, queryP50ms: pct(0.5), queryP99ms: pct(0.99), recall10: hit / R, recallQueries: R,
  decisions, dumps: j1.n, jobs1s: j1.s, jobs2s: j2.s, speedup: j1.s / j2.s, jobs1cpu: j1.cpu ?? null, jobs2cpu: j2.cpu ?? null, coresCeiling: ceiling, cores: os.availableParallelism(),
};
console.log(JSON.stringify(res, null, 1));
console.log(table(
  ['signatures', 'ingest s (per s)', 'index MB', 'store MB', 'peak RSS MB', 'match p50 ms', 'match p99 ms', 'HNSW recall@10', 'ingest --jobs 1 / 2 (dumps)'],
  [[String(N), ingestS === null ? '- (store reused)' : `${fmt(ingestS, 1)} (${fmt(N / ingestS, 0)})`, fmt(indexBytes / 2 ** 20, 0), fmt(dbBytes / 2 ** 20, 0), fmt(peakRss / 2 ** 20, 0), fmt(pct(0.5)), fmt(pct(0.99)), fmt(hit / R, 3), `${fmt(j1.s, 1)} s / ${fmt(j2.s, 1)} s = ${fmt(j1.s / j2.s)}× (${j1.n} dumps)`]],
));
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'results', `similarity-${N}${EF ? `-ef${EF}` : ''}.json`), JSON.stringify(res, null, 1) + '\n');
// --keep leaves the store for --reuse runs (1 M: 5 GB).
if (!REUSE && !argv.includes('--keep')) fs.rmSync(OUT, { recursive: true, force: true });
