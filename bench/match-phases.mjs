// Where a match's time goes on an existing embedded store (one bench:similarity
// built with --keep): Q variant queries made from the real signatures (as the
// similarity bench makes them, numbered past the stored ones) through
// Engine.match, timing the whole call and each store read and the HNSW search
// inside it. Used to compare two trees on the same store (build each, run
// this from each): nothing is written.
//
//   npm run build && node bench/match-phases.mjs STORE_DIR [--queries 1000] [--lab DIR]

import * as path from 'node:path';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { realSignatures } from './variants.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const dir = argv.find((a, i) => !a.startsWith('--') && !['--queries', '--lab'].includes(argv[i - 1] ?? ''));
if (!dir) {
  console.error('usage: node bench/match-phases.mjs STORE_DIR [--queries 1000] [--lab DIR]');
  process.exit(2);
}
const Q = Number(opt('--queries', 1000));
const d = (p) => path.join(ROOT, 'dist', p);
const { openSqliteStore } = await import(d('src/similarity/sqlite.js'));
const { Engine } = await import(d('src/similarity/engine.js'));
const { base, variant } = await realSignatures(path.join(os.tmpdir(), `vaat-match-phases-${process.pid}`), opt('--lab', process.env.VAAT_LAB ?? '/work/labset3'));
const store = openSqliteStore(dir);
const t0 = performance.now();
const engine = await Engine.open(store, { notice: (l) => console.error(l) });
console.error(`open ${(performance.now() - t0).toFixed(0)} ms, index ${engine.indexSize}`);
const phases = {};
const wrap = (obj, name) => {
  const f = obj[name].bind(obj);
  obj[name] = async (...a) => {
    const s = performance.now();
    try {
      return await f(...a);
    } finally {
      (phases[name] ??= []).push(performance.now() - s);
    }
  };
};
for (const m of ['memberships', 'views', 'issuesById', 'signaturesById', 'config', 'candidates', 'members']) wrap(store, m);
const idx = engine.index;
const search = idx.search.bind(idx);
idx.search = (...a) => {
  const s = performance.now();
  try {
    return search(...a);
  } finally {
    (phases.hnsw ??= []).push(performance.now() - s);
  }
};
// Queries: a deterministic pick of real signatures, as variants numbered past any stored one.
let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const qs = [];
for (let q = 0; q < Q; q++) qs.push(variant(base[Math.floor(rnd() * base.length)], 5_000_000 + q));
const lat = [];
for (const q of qs) {
  const s = performance.now();
  await engine.match(q, { k: 5 });
  lat.push(performance.now() - s);
}
const pct = (xs, p) => xs.slice().sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
console.log(`match p50 ${pct(lat, 0.5).toFixed(2)} ms, p99 ${pct(lat, 0.99).toFixed(2)} ms (${Q} queries)`);
for (const [k, v] of Object.entries(phases)) console.log(`  ${k}: ${v.length} calls, p50 ${pct(v, 0.5).toFixed(3)} ms, mean ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)} ms`);
await store.close();
