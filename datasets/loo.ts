// A first honest evaluation of signatures, before any index or model: on a
// labelled set of dumps, leave-one-out nearest neighbour. Each dump in turn
// is the query; every other dump is ranked by distance to it; the rank of
// the first dump with the query's label gives RR (1/rank). RR@1 is the
// share of queries whose nearest neighbour has their label; MRR the mean RR.
// Queries whose label no other dump carries are left out (nothing to find).
//
// Matchers compared, on the same dumps:
//   full      cosine distance (ml-distance) between full signature vectors;
//   rip+2     panic-stack key equality: the RIP function and the next two
//             frames (what Alibaba's later matcher keyed on);
//   frames    cosine between vectors of the normalized panic frames only
//             (position-weighted), the classic "same stack" matcher;
//   title     title equality.
// Ties are broken at random and scored by expectation (the chance the
// nearest item is relevant; E[1/rank]), so a matcher that cannot tell
// candidates apart gets no lucky first places.
//
//   node dist/datasets/loo.js [<manifest.json | dir>] [--class] [--by-label] [--json]

import * as path from 'node:path';
import { similarity } from 'ml-distance';
import { Program } from '../src/kernel/program.js';
import { materialize } from '../src/util/zst.js';
import { packageRoot } from '../src/util/datafile.js';
import { signatureFromDump, type Signature } from '../features/signature.js';
import { vectorize } from '../features/vector.js';
import { MARKERS, frameFunction } from '../features/trace.js';
import { loadLabelled, labelClass, type LabelledDump } from './labelled.js';

export interface Scores {
  matcher: string;
  rr1: number;
  mrr: number;
  queries: number;
  /** RR@1 per label (queries of that label only). */
  byLabel: Record<string, number>;
}

/** What ranking one query gives, with ties broken at random: the chance the nearest item is relevant, and E[1/rank of the first relevant]. */
export interface QueryScore {
  p1: number;
  rr: number;
  /** Expected rank of the first relevant item. */
  rank: number;
}

function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * Score one query from the distances to the other items and which are
 * relevant. Items strictly closer than the best relevant one come first;
 * among the `n` items tied with it, `k` of them relevant, the first
 * relevant one is at tie position j with probability C(n-j, k-1)/C(n, k).
 */
export function scoreQuery(dists: number[], relevant: boolean[]): QueryScore {
  const eps = 1e-12;
  const best = Math.min(...dists.filter((_, i) => relevant[i]));
  const closer = dists.filter((d) => d < best - eps).length;
  const n = dists.filter((d) => Math.abs(d - best) <= eps).length;
  const k = dists.filter((d, i) => relevant[i] && Math.abs(d - best) <= eps).length;
  let rr = 0;
  let rank = 0;
  const total = choose(n, k);
  for (let j = 1; j <= n - k + 1; j++) {
    const p = choose(n - j, k - 1) / total;
    rr += p / (closer + j);
    rank += p * (closer + j);
  }
  return { p1: closer === 0 ? k / n : 0, rr, rank };
}

/** Expected rank of the first relevant item (see scoreQuery). */
export function expectedRank(dists: number[], relevant: boolean[]): number {
  return scoreQuery(dists, relevant).rank;
}

/** Leave-one-out over items with a distance function. */
export function leaveOneOut<T>(items: T[], labels: string[], dist: (a: T, b: T) => number): { rr1: number; mrr: number; queries: number; perQuery: Array<QueryScore | null> } {
  const perQuery: Array<QueryScore | null> = [];
  for (let q = 0; q < items.length; q++) {
    const others = items.map((_, i) => i).filter((i) => i !== q);
    const relevant = others.map((i) => labels[i] === labels[q]);
    if (!relevant.some(Boolean)) {
      perQuery.push(null);
      continue;
    }
    perQuery.push(scoreQuery(others.map((i) => dist(items[q]!, items[i]!)), relevant));
  }
  const valid = perQuery.filter((x): x is QueryScore => x !== null);
  const n = valid.length;
  return {
    rr1: n ? valid.reduce((a, s) => a + s.p1, 0) / n : 0,
    mrr: n ? valid.reduce((a, s) => a + s.rr, 0) / n : 0,
    queries: n,
    perQuery,
  };
}

const cosineDistance = (a: Float32Array | number[], b: Float32Array | number[]) => {
  const s = similarity.cosine(Array.from(a), Array.from(b));
  return Number.isFinite(s) ? 1 - s : 1;
};

/** The panic-stack key: RIP function + the next two frames (markers skipped). */
export function ripKey(sig: Signature): string {
  return (sig.panic?.frames ?? []).filter((f) => !MARKERS.has(f)).slice(0, 3).map(frameFunction).join('|');
}

/** Position-weighted bag of the panic frames, as a plain map (compared by cosine). */
function frameVector(sig: Signature): Map<string, number> {
  const m = new Map<string, number>();
  (sig.panic?.frames ?? []).filter((f) => !MARKERS.has(f)).slice(0, 16).forEach((f, i) => {
    const k = frameFunction(f);
    m.set(k, (m.get(k) ?? 0) + 1 / (1 + 0.25 * i));
  });
  return m;
}

function mapCosineDistance(a: Map<string, number>, b: Map<string, number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [k, v] of a) {
    na += v * v;
    dot += v * (b.get(k) ?? 0);
  }
  for (const v of b.values()) nb += v * v;
  return na && nb ? 1 - dot / Math.sqrt(na * nb) : 1;
}

export function evaluate(sigs: Signature[], labels: string[]): Scores[] {
  const vec = sigs.map(vectorize);
  const fv = sigs.map(frameVector);
  const idx = sigs.map((_, i) => i);
  const run = (matcher: string, dist: (a: number, b: number) => number): Scores => {
    const r = leaveOneOut(idx, labels, dist);
    const byLabel: Record<string, number> = {};
    for (const l of [...new Set(labels)].sort()) {
      const qs = r.perQuery.filter((x, q): x is QueryScore => x !== null && labels[q] === l);
      if (qs.length) byLabel[l] = qs.reduce((a, x) => a + x.p1, 0) / qs.length;
    }
    return { matcher, rr1: r.rr1, mrr: r.mrr, queries: r.queries, byLabel };
  };
  return [
    run('full signature (cosine)', (a, b) => cosineDistance(vec[a]!, vec[b]!)),
    run('panic stack: RIP + 2 frames key', (a, b) => (ripKey(sigs[a]!) === ripKey(sigs[b]!) && ripKey(sigs[a]!) !== '' ? 0 : 1)),
    run('panic stack: normalized frames (cosine)', (a, b) => mapCosineDistance(fv[a]!, fv[b]!)),
    run('title equality', (a, b) => (sigs[a]!.panic?.title && sigs[a]!.panic?.title === sigs[b]!.panic?.title ? 0 : 1)),
  ];
}

export function renderScores(set: string, n: number, labelKind: string, scores: Scores[]): string {
  const out = [`leave-one-out nearest neighbour on ${set}: ${n} dumps, ${scores[0]?.queries ?? 0} queries with a same-${labelKind} neighbour`, '', '| matcher | RR@1 | MRR |', '|---|---|---|'];
  for (const s of scores) out.push(`| ${s.matcher} | ${s.rr1.toFixed(3)} | ${s.mrr.toFixed(3)} |`);
  return out.join('\n') + '\n';
}

/** RR@1 per label, one column per matcher: where each matcher wins and loses. */
export function renderByLabel(scores: Scores[]): string {
  const labels = Object.keys(scores[0]?.byLabel ?? {});
  const short = (m: string) => m.replace(/ \(cosine\)/, '').replace('panic stack: ', '');
  const out = [`| label | ${scores.map((s) => short(s.matcher)).join(' | ')} |`, `|---|${scores.map(() => '---').join('|')}|`];
  for (const l of labels) out.push(`| ${l} | ${scores.map((s) => (s.byLabel[l] ?? 0).toFixed(2)).join(' | ')} |`);
  return out.join('\n') + '\n';
}

function signatureOf(d: LabelledDump): Signature {
  const prog = Program.open(materialize(d.path), { displayPath: d.path });
  try {
    return signatureFromDump(prog, d.path);
  } finally {
    prog.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const args = argv.filter((a) => !a.startsWith('--'));
  const input = args[0] ?? path.join(packageRoot(), '..', 'shared', 'vmcores');
  const byClass = argv.includes('--class') || !args[0];
  const dumps = loadLabelled(input);
  const sigs: Signature[] = [];
  const labels: string[] = [];
  for (const d of dumps) {
    try {
      sigs.push(signatureOf(d));
      labels.push(byClass ? labelClass(d.label) : d.label);
    } catch (e) {
      process.stderr.write(`loo: ${d.name}: ${(e as Error).message.split('\n')[0]}\n`);
    }
  }
  const scores = evaluate(sigs, labels);
  if (argv.includes('--json')) process.stdout.write(JSON.stringify({ input, dumps: sigs.length, labels: byClass ? 'class' : 'label', scores }, null, 2) + '\n');
  else {
    process.stdout.write(renderScores(input, sigs.length, byClass ? 'class' : 'label', scores));
    if (argv.includes('--by-label')) process.stdout.write('\nRR@1 by label:\n\n' + renderByLabel(scores));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`loo: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
