// HNSW parameters at scale, the index alone: N variant signatures' vectors
// (the same real signatures and variants as bench/similarity.mjs) in an
// hnswlib-node inner-product index built with each M × efConstruction asked
// for; for each efSearch, recall@10 against exact inner-product search (ties
// counted, as bench/similarity.mjs does) and the search's own p50/p99. No
// store, no scoring: this chooses the index parameters; bench/similarity.mjs
// measures the engine that uses them.
//
//   npm run build && node bench/hnsw-params.mjs [--n 1000000] [--m 16,32] [--efc 200] [--ef 64,128,256,512] [--queries 200]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import hnswlib from 'hnswlib-node';
import { ROOT, table, fmt, hnswAddonBuild } from './lib.mjs';
import { realSignatures } from './variants.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : d;
};
const list = (s) => s.split(',').map(Number);
const N = Number(opt('--n', 1_000_000));
const Ms = list(opt('--m', '16,32'));
const EFCs = list(opt('--efc', '200'));
const EFs = list(opt('--ef', '64,128,256,512'));
const Q = Number(opt('--queries', 200));
const LAB = opt('--lab', process.env.VAAT_LAB ?? '/work/labset');
const OUT = opt('--out', path.join(os.tmpdir(), `vaat-bench-hnsw-${process.pid}`));
const { vectorize } = await import(path.join(ROOT, 'dist', 'features', 'vector.js'));

const { base, variant } = await realSignatures(OUT, LAB);
const dim = vectorize(base[0]).length;
// Every stored vector in one flat array (N × dim float32), and Q query variants made after them.
const flat = new Float32Array(N * dim);
for (let i = 0; i < N; i++) flat.set(vectorize(variant(base[i % base.length], i)), i * dim);
const queries = [];
for (let q = 0; q < Q; q++) queries.push(vectorize(variant(base[(q * 7919) % base.length], N + q)));
console.error(`hnsw-params: ${N} vectors of ${dim} dimensions, ${Q} queries`);

// Exact top-10 scores of each query (the 10th score is the bar a returned item must reach).
const dot = (v, i) => {
  let s = 0;
  const o = i * dim;
  for (let j = 0; j < dim; j++) s += v[j] * flat[o + j];
  return s;
};
const tenth = queries.map((v) => {
  const top = new Float64Array(10).fill(-Infinity);
  for (let i = 0; i < N; i++) {
    const s = dot(v, i);
    if (s > top[9]) {
      let k = 9;
      while (k > 0 && top[k - 1] < s) {
        top[k] = top[k - 1];
        k--;
      }
      top[k] = s;
    }
  }
  return top[9] - 1e-6;
});

const rows = [];
for (const m of Ms) {
  for (const efc of EFCs) {
    const ix = new hnswlib.HierarchicalNSW('ip', dim);
    ix.initIndex({ maxElements: N, m, efConstruction: efc, randomSeed: 100 });
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      ix.addPoint(Array.from(flat.subarray(i * dim, (i + 1) * dim)), i);
      if ((i + 1) % 100000 === 0) console.error(`hnsw-params: M ${m} efC ${efc}: ${i + 1} added, ${((i + 1) / ((performance.now() - t0) / 1000)).toFixed(0)}/s`);
    }
    const buildS = (performance.now() - t0) / 1000;
    const file = path.join(OUT, `m${m}-efc${efc}.hnsw`);
    ix.writeIndexSync(file);
    const bytes = fs.statSync(file).size;
    fs.rmSync(file);
    for (const ef of EFs) {
      ix.setEf(Math.max(ef, 10));
      const lat = [];
      let hit = 0;
      for (let q = 0; q < Q; q++) {
        const v = Array.from(queries[q]);
        const a = performance.now();
        const r = ix.searchKnn(v, 10);
        lat.push(performance.now() - a);
        hit += r.neighbors.filter((id) => dot(queries[q], id) >= tenth[q]).length / 10;
      }
      lat.sort((a, b) => a - b);
      const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
      const row = { n: N, m, efConstruction: efc, efSearch: ef, hnswAddon: await hnswAddonBuild(), buildSeconds: buildS, indexBytes: bytes, recall10: hit / Q, searchP50ms: pct(0.5), searchP99ms: pct(0.99) };
      rows.push(row);
      console.error(`hnsw-params: ${JSON.stringify(row)}`);
    }
  }
}
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'results', `hnsw-params-${N}.json`), JSON.stringify(rows, null, 1) + '\n');
console.log(table(['signatures', 'M', 'efConstruction', 'efSearch', 'build s', 'index MB', 'recall@10', 'search p50 ms', 'search p99 ms'],
  rows.map((r) => [r.n.toLocaleString('en'), r.m, r.efConstruction, r.efSearch, fmt(r.buildSeconds, 0), fmt(r.indexBytes / 2 ** 20, 0), fmt(r.recall10, 3), fmt(r.searchP50ms, 2), fmt(r.searchP99ms, 2)])));
fs.rmSync(OUT, { recursive: true, force: true });
