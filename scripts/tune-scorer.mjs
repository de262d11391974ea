// Fit the scorer's family weights (src/similarity/data/scorer.json) on the
// tuning halves of labelled sets only — coordinate descent on the mean over
// the sets of (leave-one-out MRR + ROC AUC of duplicate-vs-new) / 2, queries
// and index both from the tuning half: the MRR says the right issue comes
// first, the AUC that a query's best score tells a known root cause (best
// score with its own root cause in the index) from a new one (best score
// with its root cause left out) — a dedupe decision needs both, and a fit on
// the MRR alone bought ranking with separation. The test halves are never
// read here; vaat eval reports on them.
//
//   npm run build && node scripts/tune-scorer.mjs [--write] <set> [<set> …]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEvalSet, setFrameStats } from '../dist/src/cli/eval.js';
import { engineMatcher } from '../dist/src/similarity/eval/matchers/engine.js';
import { rankQuery } from '../dist/src/similarity/eval/metrics/ranking.js';
import { auc } from '../dist/src/similarity/eval/metrics/decision.js';
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

function objective(params, parts = false) {
  let total = 0;
  const seen = [];
  for (const t of tuneItems) {
    const m = engineMatcher(t.items, t.frames, { name: 'e', about: '', params });
    let sum = 0;
    let n = 0;
    const pos = [];
    const neg = [];
    const best = (scores) => Math.max(-1, ...scores.values());
    for (const q of t.items) {
      const pool = t.items.filter((i) => i.idx !== q.idx).map((i) => i.idx);
      const rel = (i) => t.items[i].label === q.label;
      // Leave-label-out: the best score when the query's root cause is not in the index.
      neg.push(best(m.scores(q.idx, (i) => i !== q.idx && !rel(i))));
      if (!pool.some(rel)) continue;
      const scores = m.scores(q.idx, (i) => i !== q.idx);
      pos.push(best(scores));
      sum += rankQuery(q.idx, scores, pool, rel).rr;
      n++;
    }
    const mrr = n ? sum / n : 0;
    const a = auc(pos, neg) ?? 0.5;
    seen.push({ set: t.set, mrr, auc: a });
    total += (mrr + a) / 2;
  }
  return parts ? seen : total / tuneItems.length;
}

const base = structuredClone(defaultParams());
let best = objective(base);
console.log(`start: tuning objective ${best.toFixed(4)} ${JSON.stringify(objective(base, true))}`);
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
        console.log(`round ${round}: ${fam} ${trial.families[fam]} -> ${v.toFixed(4)}`);
      }
    }
  }
  if (!improved) break;
}
console.log(`best: ${JSON.stringify(base.families)} tuning objective ${best.toFixed(4)} ${JSON.stringify(objective(base, true))}`);
if (args.includes('--write')) {
  const file = path.join(root, 'src', 'similarity', 'data', 'scorer.json');
  const d = JSON.parse(fs.readFileSync(file, 'utf8'));
  d.families = base.families;
  d.fitted = { sets: sets.map((s) => path.basename(path.resolve(s))), objective: 'mean over the tuning halves of (leave-one-out MRR + ROC AUC duplicate-vs-new) / 2', value: Math.round(best * 10000) / 10000 };
  fs.writeFileSync(file, JSON.stringify(d, null, 1) + '\n');
  console.log(`written to ${path.relative(root, file)}`);
}
