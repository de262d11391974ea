// Fit the scorer's family weights (src/similarity/data/scorer.json) on the
// tuning halves of labelled sets only — coordinate descent on the mean of
// the sets' leave-one-out MRR of the engine, queries and index both from the
// tuning half. The test halves are never read here; vaat eval reports on them.
//
//   npm run build && node scripts/tune-scorer.mjs [--write] <set> [<set> …]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEvalSet, setFrameStats } from '../dist/src/cli/eval.js';
import { engineMatcher } from '../dist/src/similarity/eval/matchers/engine.js';
import { rankQuery } from '../dist/src/similarity/eval/metrics/ranking.js';
import { defaultParams } from '../dist/src/similarity/scorer.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const sets = args.filter((a) => !a.startsWith('--'));
if (!sets.length) {
  console.error('usage: node scripts/tune-scorer.mjs [--write] <set> [<set> …]');
  process.exit(1);
}

// Only the tuning half of each set: the rest is dropped before anything is scored.
const tuneItems = [];
for (const s of sets) {
  const loaded = await loadEvalSet(s, { jobs: 2 });
  const items = loaded.items.filter((it) => it.split === 'tune').map((it, idx) => ({ ...it, idx }));
  tuneItems.push({ set: s, items, frames: setFrameStats(items) });
  console.log(`${s}: ${items.length} tuning items, ${new Set(items.map((i) => i.label)).size} root causes`);
}

function objective(params) {
  let total = 0;
  for (const t of tuneItems) {
    const m = engineMatcher(t.items, t.frames, { name: 'e', about: '', params });
    let sum = 0;
    let n = 0;
    for (const q of t.items) {
      const pool = t.items.filter((i) => i.idx !== q.idx).map((i) => i.idx);
      const rel = (i) => t.items[i].label === q.label;
      if (!pool.some(rel)) continue;
      sum += rankQuery(q.idx, m.scores(q.idx, () => true), pool, rel).rr;
      n++;
    }
    total += n ? sum / n : 0;
  }
  return total / tuneItems.length;
}

const base = structuredClone(defaultParams());
let best = objective(base);
console.log(`start: mean tuning MRR ${best.toFixed(4)}`);
const steps = [0.5, 0.75, 1.5, 2];
for (let round = 0; round < 3; round++) {
  let improved = false;
  for (const fam of Object.keys(base.families)) {
    for (const f of steps) {
      const trial = structuredClone(base);
      trial.families[fam] = Math.round(base.families[fam] * f * 1000) / 1000;
      const v = objective(trial);
      if (v > best + 1e-4) {
        best = v;
        base.families[fam] = trial.families[fam];
        improved = true;
        console.log(`round ${round}: ${fam} ${trial.families[fam]} -> MRR ${v.toFixed(4)}`);
      }
    }
  }
  if (!improved) break;
}
console.log(`best: ${JSON.stringify(base.families)} mean tuning MRR ${best.toFixed(4)}`);
if (args.includes('--write')) {
  const file = path.join(root, 'src', 'similarity', 'data', 'scorer.json');
  const d = JSON.parse(fs.readFileSync(file, 'utf8'));
  d.families = base.families;
  d.fitted = { sets: sets.map((s) => path.basename(path.resolve(s))), objective: 'mean leave-one-out MRR of the engine over the tuning halves', value: Math.round(best * 10000) / 10000 };
  fs.writeFileSync(file, JSON.stringify(d, null, 1) + '\n');
  console.log(`written to ${path.relative(root, file)}`);
}
