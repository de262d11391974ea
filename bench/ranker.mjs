// The learned ranker's costs: re-ranking a query's 50 HNSW candidates (the
// scorer's comparison of each, the model's features, one batched predict on
// the wasm backend) against the hand-set scorer alone on the same
// candidates; and, with --train, training the shipped model's recipe from
// scratch (the limit: 10 minutes on 2 cores).
//
//   npm run build && node bench/ranker.mjs [--model models/ranker-v1] [--queries 500] [--train --lab DIR]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, SHARED, table, fmt } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : d;
};
const MODEL = path.resolve(opt('--model', path.join(ROOT, 'models', 'ranker-v1')));
const Q = Number(opt('--queries', 500));
const LAB = opt('--lab', process.env.VAAT_LAB ?? '/work/labset');
const d = (p) => path.join(ROOT, 'dist', p);
const { loadEvalSet, setFrameStats } = await import(d('src/cli/eval.js'));
const { writeSyzbotSet } = await import(d('datasets/syzbot.js'));
const { Ranker } = await import(d('src/models/ranker.js'));
const { defaultParams, score } = await import(d('src/similarity/scorer.js'));
const { engineMatcher } = await import(d('src/similarity/eval/matchers/engine.js'));
const { trainRanker } = await import(d('src/models/train.js'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vaat-bench-ranker-'));
const syzDir = path.join(tmp, 'syzbot-clusters-dev');
writeSyzbotSet(path.join(SHARED, 'corpora', 'syzbot-clusters-dev', 'reports.jsonl'), syzDir);
const syz = await loadEvalSet(syzDir, { jobs: os.availableParallelism() });
const frames = setFrameStats(syz.items);
const params = defaultParams();
const rk = await Ranker.load(MODEL, params);
const engine = engineMatcher(syz.items, frames, { name: 'e', about: '', params });

const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const scorerMs = [];
const modelMs = [];
let n = 0;
// Warm both paths first (JIT, the wasm module's first predict).
for (let q = 0; q < 20; q++) rk.probabilities(syz.items[q].view, syz.items.slice(q + 1, q + 51).map((x) => x.view), frames);
for (let q = 0; q < syz.items.length && n < Q; q += Math.max(1, Math.floor(syz.items.length / Q))) {
  const ids = [...engine.scores(q, () => true).keys()];
  if (ids.length < 50) continue;
  const qv = syz.items[q].view;
  const cands = ids.map((i) => syz.items[i].view);
  let t = performance.now();
  for (const c of cands) score(qv, c, frames, params);
  scorerMs.push(performance.now() - t);
  // As the engine's rank(): the scorer's comparisons, then the model reads them.
  t = performance.now();
  const scores = cands.map((c) => score(qv, c, frames, params));
  rk.probabilities(qv, cands, frames, scores);
  modelMs.push(performance.now() - t);
  n++;
}
const rows = [
  ['hand-set scorer, 50 candidates', fmt(pct(scorerMs, 0.5), 3), fmt(pct(scorerMs, 0.99), 3)],
  [`scorer + model ${path.basename(MODEL)} (${rk.backend}), 50 candidates`, fmt(pct(modelMs, 0.5), 3), fmt(pct(modelMs, 0.99), 3)],
];
const result = { queries: n, backend: rk.backend, scorerMs: { p50: pct(scorerMs, 0.5), p99: pct(scorerMs, 0.99) }, rerankMs: { p50: pct(modelMs, 0.5), p99: pct(modelMs, 0.99) }, cores: os.availableParallelism() };
console.log(`re-ranking ${n} syzbot queries' 50 HNSW candidates (ms per query):\n`);
console.log(table(['what', 'p50 ms', 'p99 ms'], rows));

if (argv.includes('--train')) {
  const sets = [];
  for (const [name, dir] of [['lab', LAB], ['syzbot-clusters-dev', syzDir]]) {
    if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
      console.error(`bench: ${dir}/manifest.json missing: training on the sets that are there`);
      continue;
    }
    const s = name === 'syzbot-clusters-dev' ? syz : await loadEvalSet(dir, { jobs: os.availableParallelism() });
    sets.push({ name, items: s.items, frames: name === 'syzbot-clusters-dev' ? frames : setFrameStats(s.items) });
  }
  const t0 = performance.now();
  const r = await trainRanker(sets, 'bench', path.join(tmp, 'model'), { seed: 1, params });
  const wall = (performance.now() - t0) / 1000;
  result.train = { seconds: wall, epochs: r.epochs, pairs: r.pairs.train, sets: sets.map((s) => s.name) };
  console.log(`\ntraining (signatures already extracted; sets ${sets.map((s) => s.name).join(' + ')}): ${fmt(wall, 1)} s, ${r.epochs} epochs, ${r.pairs.train} training pairs, ${r.backend} backend`);
}
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'ranker.json'), JSON.stringify(result, null, 2) + '\n');
fs.rmSync(tmp, { recursive: true, force: true });
