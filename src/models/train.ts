// Training the pairwise ranker on labelled root causes. Pairs come from the
// tuning half of each set only (the test half is split off by root cause
// before anything here sees it): every same-label pair of a query (up to a
// cap), the engine's own best-scored candidates of other labels (the hard
// negatives), and random other items (easy ones). A fifth of the tuning
// labels is held out for early stopping and for the model's thresholds. The
// same seed gives the same model.

import type * as TF from '@tensorflow/tfjs';
import * as crypto from 'node:crypto';
import { pairFeatures, featureNames, featureLayout } from './features.js';
import { loadTf, saveModel, type ModelMeta } from './ranker.js';
import { fitPlatt, applyPlatt } from './calibration.js';
import { vectorVersion } from '../../features/rules.js';
import type { EvalItem } from '../similarity/eval/types.js';
import type { FrameStats } from '../similarity/frames.js';
import type { ScorerParams } from '../similarity/compare/types.js';
import { engineMatcher } from '../similarity/eval/matchers/engine.js';
import { rng } from '../similarity/eval/metrics/bootstrap.js';
import { thresholdForPrecision, bestPrecisionThreshold, newThreshold, type DecisionPoint } from '../similarity/eval/metrics/decision.js';

export interface TrainSet {
  name: string;
  items: EvalItem[];
  frames: FrameStats;
}

export interface TrainOptions {
  seed: number;
  params: ScorerParams;
  maxEpochs?: number;
  patience?: number;
  positivesPerQuery?: number;
  hardNegatives?: number;
  randomNegatives?: number;
  /** A small set's training pairs are repeated until it has this share of the largest set's. */
  smallSetShare?: number;
  scope?: 'console' | 'all';
  progress?: (line: string) => void;
}

export interface TrainResult {
  meta: ModelMeta;
  epochs: number;
  history: Array<{ epoch: number; loss: number; valLoss: number }>;
  pairs: { train: number; validation: number; positives: number };
  labels: { train: number; validation: number };
  seconds: number;
  backend: string;
}

interface Pair {
  x: number[];
  y: number;
  q: number;
  set: number;
  validation: boolean;
}

/** Which tuning labels are held out for validation: a hash of (seed, label), a fifth of them. */
function isValidation(seed: number, label: string): boolean {
  return crypto.createHash('sha256').update(`${seed}:${label}`).digest()[0]! < 51;
}

/**
 * A small set (the lab's few dozen vmcores beside thousands of console
 * reports) would barely move the weights: its training pairs are repeated
 * until it carries at least a third of the largest set's pairs.
 */
function balance(train: Pair[], nSets: number, share: number): Pair[] {
  const per = Array.from({ length: nSets }, (_, i) => train.filter((p) => p.set === i));
  const most = Math.max(...per.map((x) => x.length));
  const out: Pair[] = [];
  for (const ps of per) {
    const times = ps.length ? Math.max(1, Math.round((most * share) / ps.length)) : 0;
    for (let k = 0; k < times; k++) out.push(...ps);
  }
  return out;
}

function buildPairs(sets: TrainSet[], o: TrainOptions): Pair[] {
  const r = rng(o.seed);
  const pairs: Pair[] = [];
  sets.forEach((s, si) => {
    const tune = s.items.filter((it) => it.split === 'tune');
    const allowed = new Set(tune.map((it) => it.idx));
    const engine = engineMatcher(s.items, s.frames, { name: 'engine', about: '', params: o.params });
    for (const q of tune) {
      const val = isValidation(o.seed, q.label);
      // Pairs stay on one side of the validation split.
      const same = (i: number) => allowed.has(i) && isValidation(o.seed, s.items[i]!.label) === val;
      const pos = tune.filter((it) => it.idx !== q.idx && it.label === q.label && same(it.idx));
      for (const p of pos.slice(0, o.positivesPerQuery ?? 10)) pairs.push({ x: pairFeatures(q.view, p.view, s.frames, o.params), y: 1, q: q.idx, set: si, validation: val });
      const hard = [...engine.scores(q.idx, (i) => same(i) && s.items[i]!.label !== q.label)].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, o.hardNegatives ?? 10);
      for (const [i] of hard) pairs.push({ x: pairFeatures(q.view, s.items[i]!.view, s.frames, o.params), y: 0, q: q.idx, set: si, validation: val });
      const pool = tune.filter((it) => it.label !== q.label && same(it.idx));
      for (let k = 0; k < (o.randomNegatives ?? 5) && pool.length; k++) {
        const c = pool[Math.floor(r() * pool.length)]!;
        pairs.push({ x: pairFeatures(q.view, c.view, s.frames, o.params), y: 0, q: q.idx, set: si, validation: val });
      }
    }
  });
  return pairs;
}

export async function trainRanker(sets: TrainSet[], name: string, out: string, o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  o.progress?.('pairs: building from the tuning halves');
  const pairs = buildPairs(sets, o);
  const train = balance(pairs.filter((p) => !p.validation), sets.length, o.smallSetShare ?? 1 / 3);
  const val = pairs.filter((p) => p.validation);
  const { tf, backend } = await loadTf((l) => o.progress?.(l));
  // Deterministic: fixed initializer seeds and our own shuffling.
  const nIn = featureNames(o.params).length;
  const init = (k: number) => tf.initializers.glorotUniform({ seed: o.seed * 7 + k });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 32, activation: 'relu', inputShape: [nIn], kernelInitializer: init(1) }),
      tf.layers.dropout({ rate: 0.1, seed: o.seed }),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(3) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.005), loss: 'binaryCrossentropy' });
  const pos = train.filter((p) => p.y === 1).length;
  const posWeight = pos ? (train.length - pos) / pos : 1;
  const r = rng(o.seed + 1);
  const order = train.map((_, i) => i);
  const tensor = (ps: Pair[]) => ({ x: tf.tensor2d(ps.map((p) => p.x), [ps.length, nIn]), y: tf.tensor2d(ps.map((p) => [p.y]), [ps.length, 1]) });
  const vp = val.length ? val : train;
  // The validation loss weighs positives as training does, so early stopping judges the same objective.
  const v = { ...tensor(vp), w: tf.tensor2d(vp.map((p) => [p.y ? posWeight : 1]), [vp.length, 1]) };
  const history: TrainResult['history'] = [];
  let best = Infinity;
  let bestWeights: TF.Tensor[] | null = null;
  let bad = 0;
  const maxEpochs = o.maxEpochs ?? 80;
  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const shuffled = order.map((i) => train[i]!);
    const t = tensor(shuffled);
    const h = await model.fit(t.x, t.y, { epochs: 1, batchSize: 128, shuffle: false, verbose: 0, classWeight: { 0: 1, 1: posWeight } });
    tf.dispose([t.x, t.y]);
    const valLoss = tf.tidy(() => (tf.losses.logLoss(v.y, model.predict(v.x) as TF.Tensor, v.w) as TF.Scalar).dataSync()[0]!);
    const loss = Number(h.history.loss![0]);
    history.push({ epoch, loss: Math.round(loss * 1e5) / 1e5, valLoss: Math.round(valLoss * 1e5) / 1e5 });
    o.progress?.(`epoch ${epoch}: loss ${loss.toFixed(4)}, validation loss ${valLoss.toFixed(4)}`);
    if (valLoss < best - 1e-5) {
      best = valLoss;
      bad = 0;
      bestWeights?.forEach((x) => x.dispose());
      bestWeights = model.getWeights().map((x) => x.clone());
    } else if (++bad >= (o.patience ?? 6)) break;
  }
  if (bestWeights) model.setWeights(bestWeights);
  tf.dispose([v.x, v.y, v.w]);
  // Calibration and thresholds on the validation labels' queries, as the engine runs:
  // the engine's candidates among the other validation items (a query whose root
  // cause has no other item there is a new issue, as in a store). Platt scaling
  // maps the best candidate's probability to the chance that it is the same root cause.
  const raw: DecisionPoint[] = [];
  sets.forEach((s, si) => {
    const engine = engineMatcher(s.items, s.frames, { name: 'engine', about: '', params: o.params });
    const side = s.items.filter((it) => it.split === 'tune' && isValidation(o.seed, it.label));
    const inSide = new Set(side.map((it) => it.idx));
    for (const q of side) {
      // The thresholds belong to the queries the model will rank.
      if ((o.scope ?? 'console') === 'console' && q.view.kind !== 'console') continue;
      {
        const ids = [...engine.scores(q.idx, (i) => inSide.has(i)).keys()];
        if (!ids.length) continue;
        const rows = ids.map((i) => pairFeatures(q.view, s.items[i]!.view, s.frames, o.params));
        const probs = tf.tidy(() => Array.from((model.predict(tf.tensor2d(rows, [rows.length, nIn])) as TF.Tensor).dataSync()));
        let bi = 0;
        probs.forEach((pr, i) => {
          if (pr > probs[bi]! || (pr === probs[bi]! && ids[i]! < ids[bi]!)) bi = i;
        });
        raw.push({ best: probs[bi]!, bestRelevant: s.items[ids[bi]!]!.label === q.label, hasRelevant: ids.some((i) => s.items[i]!.label === q.label) });
      }
    }
    void si;
  });
  const calibration = fitPlatt(raw.map((p) => ({ p: p.best, y: Number(p.bestRelevant) })));
  const points: DecisionPoint[] = raw.map((p) => ({ best: applyPlatt(p.best, calibration), bestRelevant: p.bestRelevant, hasRelevant: p.hasRelevant }));
  const positives = points.filter((p) => p.hasRelevant).length;
  const dup = thresholdForPrecision(points, 0.95) ?? bestPrecisionThreshold(points, Math.max(5, Math.ceil(positives / 20))) ?? 0.99;
  const meta: ModelMeta = {
    format: 'vaat-ranker-1', name, featureLayout: featureLayout(o.params), features: featureNames(o.params), vectorVersion: vectorVersion(),
    thresholds: { duplicate: round(dup), new: round(newThreshold(points, 0.95, dup)) }, calibration, scope: o.scope ?? 'console',
    trainedAt: new Date().toISOString(), seed: o.seed,
  };
  await saveModel(tf, model, out, meta);
  const labels = (valSide: boolean) => new Set(sets.flatMap((s, si) => s.items.filter((it) => it.split === 'tune' && isValidation(o.seed, it.label) === valSide).map((it) => `${si}:${it.label}`))).size;
  return {
    meta, epochs: history.length, history, backend,
    pairs: { train: train.length, validation: val.length, positives: pairs.filter((p) => p.y === 1).length },
    labels: { train: labels(false), validation: labels(true) },
    seconds: (performance.now() - t0) / 1000,
  };
}

const round = (x: number) => Math.round(x * 10000) / 10000;
