// The model card: what a trained ranker was trained on (sets and their
// hashes, splits, features, vector layout), how long it took, and every
// `vaat eval` figure on each set's test half — labels training never saw —
// beside the hand-set scorer and the baselines, plus what it learned
// (permutation importance of each feature group on the test half).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluate, type EvalReport, type Protocol } from '../similarity/eval/run.js';
import { allMatchers } from '../similarity/eval/matchers/all.js';
import { modelMatcher } from '../similarity/eval/matchers/model.js';
import { engineMatcher } from '../similarity/eval/matchers/engine.js';
import { rng } from '../similarity/eval/metrics/bootstrap.js';
import { featureGroups, pairFeatures } from './features.js';
import type { Ranker } from './ranker.js';
import type { TrainResult, TrainSet } from './train.js';
import type { ScorerParams } from '../similarity/compare/types.js';
import type { Interval } from '../similarity/eval/metrics/bootstrap.js';

export interface CardSet {
  name: string;
  manifest: string;
  sha256: string;
  items: number;
  failed: number;
  splitBy: string;
  tune: { items: number; labels: number };
  test: { items: number; labels: number };
}

export interface Importance {
  group: string;
  features: number;
  /** RR@1 of the ranker over the engine's candidates on the test half, and with the group's columns shuffled across pairs. */
  rr1: number;
  shuffled: number;
  drop: number;
}

export interface Card {
  name: string;
  format: 'vaat-ranker-card-1';
  trainedAt: string;
  seed: number;
  backend: string;
  seconds: number;
  epochs: number;
  modelBytes: number;
  featureLayout: string;
  vectorVersion: number;
  rulesVersion: string;
  features: string[];
  thresholds: { duplicate: number; new: number };
  scope: 'console' | 'all';
  training: TrainResult['pairs'] & { labels: TrainResult['labels']; split: string };
  sets: CardSet[];
  /** Per set: the eval report (model first, then the hand-set engine and the baselines). */
  eval: Record<string, EvalReport>;
  importances: Record<string, Importance[]>;
}

/** Permutation importance per feature group: shuffle a group's columns across the test pairs, re-rank, measure RR@1. */
export function importances(set: TrainSet, ranker: Ranker, params: ScorerParams, seed: number): Importance[] {
  const items = set.items;
  const engine = engineMatcher(items, set.frames, { name: 'engine', about: '', params });
  const queries: Array<{ rows: number[][]; relevant: boolean[] }> = [];
  for (const q of items.filter((it) => it.split === 'test')) {
    const allow = (i: number) => items[i]!.split === 'test';
    if (!items.some((it) => it.idx !== q.idx && allow(it.idx) && it.label === q.label)) continue;
    const ids = [...engine.scores(q.idx, allow).keys()];
    if (!ids.length) continue;
    queries.push({ rows: ids.map((i) => pairFeatures(q.view, items[i]!.view, set.frames, params)), relevant: ids.map((i) => items[i]!.label === q.label) });
  }
  const rr1 = (qs: typeof queries) => {
    let right = 0;
    for (const q of qs) {
      const p = ranker.predict(q.rows);
      let b = 0;
      p.forEach((x, i) => {
        if (x > p[b]!) b = i;
      });
      right += Number(q.relevant[b]);
    }
    return qs.length ? right / qs.length : 0;
  };
  const base = rr1(queries);
  const all = queries.flatMap((q) => q.rows);
  const out: Importance[] = [];
  for (const [group, cols] of featureGroups(params)) {
    const r = rng(seed);
    const perm = all.map((_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    let k = 0;
    const shuffled = queries.map((q) => ({
      relevant: q.relevant,
      rows: q.rows.map((row) => {
        const donor = all[perm[k++]!]!;
        const x = row.slice();
        for (const c of cols) x[c] = donor[c]!;
        return x;
      }),
    }));
    const s = rr1(shuffled);
    out.push({ group, features: cols.length, rr1: round(base), shuffled: round(s), drop: round(base - s) });
  }
  return out.sort((a, b) => b.drop - a.drop);
}

/** Every eval protocol the set supports, the model first. */
export function evalWithModel(set: TrainSet, ranker: Ranker, params: ScorerParams, rounds: number): EvalReport {
  const protocols: Protocol[] = ['loo', 'leave-label-out', 'by-group', 'time'];
  const model = modelMatcher(set.items, set.frames, ranker, { name: `engine + model ${ranker.name}`, about: 'HNSW top-50 candidates, the learned ranker\'s probability of the same root cause', params });
  const extra = [];
  // Outside its scope the model leaves queries to the scorer; how it would do there is shown too.
  if (set.items.some((it) => it.split === 'test' && !ranker.appliesTo(it.view))) {
    const everywhere = { name: ranker.name, appliesTo: () => true, probabilities: ranker.probabilities.bind(ranker) };
    extra.push(modelMatcher(set.items, set.frames, everywhere, { name: `model ${ranker.name} on every query (outside its scope)`, about: 'the model ranking vmcore queries too', params }));
  }
  return evaluate(set.items, [model, ...allMatchers(set.items, set.frames), ...extra], { protocols, rounds, clustering: true });
}

const round = (x: number) => Math.round(x * 10000) / 10000;
const f3 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));
const iv = (x: Interval | null) => (x ? `${f3(x.value)} [${f3(x.lo)}–${f3(x.hi)}]` : '-');

export function writeCard(dir: string, card: Card): void {
  fs.writeFileSync(path.join(dir, 'card.json'), JSON.stringify(card, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'CARD.md'), renderCard(card));
}

export function renderCard(c: Card): string {
  const o: string[] = [];
  o.push(`# Model card: ${c.name}`, '');
  o.push(`A pairwise ranker: given the explainable scorer's comparison of a query signature with a candidate (${c.features.length} features, layout ${c.featureLayout}), the probability that both crashes have the same root cause. A ${'MLP'} (32-16-1, ReLU, dropout 0.1, sigmoid) in tfjs, trained on the ${c.backend} backend in ${c.seconds.toFixed(1)} s (${c.epochs} epochs, seed ${c.seed}); ${c.modelBytes} bytes of weights. Vector layout ${c.vectorVersion}, rules ${c.rulesVersion}. Trained ${c.trainedAt}.`, '');
  o.push(`Scope: ${c.scope === 'console' ? 'console-log queries. A vmcore query keeps the hand-set scorer: on the lab\'s vmcores the model, trained on the few lab root causes beside a thousand console ones, ranks no better and separates duplicates from new issues worse (the row "outside its scope" below shows it)' : 'every query'}. In a store, \`vaat match|ingest --model DIR\` configures it; its probabilities are Platt-calibrated on the validation labels and decide with τ_dup / τ_new below.`, '');
  o.push('## Data', '');
  o.push('| set | manifest sha256 | items (failed) | halves by | tuning half: items / labels | test half: items / labels |', '|---|---|---|---|---|---|');
  for (const s of c.sets) o.push(`| ${s.name} | \`${s.sha256.slice(0, 16)}\` | ${s.items} (${s.failed}) | ${s.splitBy} | ${s.tune.items} / ${s.tune.labels} | ${s.test.items} / ${s.test.labels} |`);
  o.push('');
  o.push(`Training saw the tuning halves only: ${c.training.train} pairs from ${c.training.labels.train} labels (${c.training.positives} positive pairs over train and validation), early stopping on ${c.training.validation} pairs from ${c.training.labels.validation} held-out tuning labels (${c.training.split}). The thresholds below were fitted on those validation labels: τ_dup ${c.thresholds.duplicate} (pair precision ≥ 0.95 where reachable), τ_new ${c.thresholds.new}. Every figure below is on the test halves: root causes training never saw.`, '');
  for (const [set, r] of Object.entries(c.eval)) {
    o.push(`## ${set}: test half`, '');
    const loo = (m: EvalReport['matchers'][number]) => m.test.protocols.find((p) => p.protocol === 'loo');
    o.push('| matcher | RR@1 | MRR | ROC AUC dup-vs-new | recall @ precision ≥ 0.95 (curve) | precision @ τ_dup | recall @ τ_dup | ECE | B³ F1 |', '|---|---|---|---|---|---|---|---|---|');
    for (const m of r.matchers) {
      const p = loo(m);
      if (!p) continue;
      o.push(`| ${m.matcher} | ${iv(p.rr1)} | ${iv(p.mrr)} | ${iv(p.auc)} | ${iv(p.recallAtTarget)} | ${iv(p.precision)} | ${iv(p.recall)} | ${iv(p.ece)} | ${iv(m.test.clustering?.f1 ?? null)} |`);
    }
    const others = [...new Set(r.matchers.flatMap((m) => m.test.protocols.map((p) => p.protocol)))].filter((p) => p !== 'loo' && p !== 'leave-label-out');
    for (const pr of others) {
      o.push('', `${pr} protocol:`, '', '| matcher | RR@1 | MRR | ROC AUC |', '|---|---|---|---|');
      for (const m of r.matchers.slice(0, 3)) {
        const p = m.test.protocols.find((x) => x.protocol === pr);
        if (p) o.push(`| ${m.matcher} | ${iv(p.rr1)} | ${iv(p.mrr)} | ${iv(p.auc)} |`);
      }
    }
    const imp = c.importances[set];
    if (imp?.length) {
      o.push('', `What it leans on (test half; RR@1 over the engine's 50 candidates, ${f3(imp[0]!.rr1)} as trained, with one feature group's columns shuffled across pairs):`, '');
      o.push('| feature group | features | RR@1 shuffled | drop |', '|---|---|---|---|');
      for (const i of imp) o.push(`| ${i.group} | ${i.features} | ${f3(i.shuffled)} | ${f3(i.drop)} |`);
    }
    o.push('');
  }
  o.push('## Features', '', c.features.map((f) => `\`${f}\``).join(', '), '');
  return o.join('\n');
}
