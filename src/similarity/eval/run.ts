// `vaat eval`: every matcher on the same labelled items, the same queries
// and the same protocols, with intervals. Thresholds (τ_dup, τ_new, the
// clustering cut) are fitted on the tuning half and every reported figure
// is measured on the test half, which fitting never saw. The halves are
// split by label (a root cause is all on one side), so the test half asks
// the question a fleet asks: does it recognise root causes it was not tuned
// on?
//
// Protocols (queries are always test-half items; the index is what the
// protocol lets a query see):
//   loo              every other item;
//   leave-label-out  every item with another label — the query's root cause
//                    is absent, the right answer is "new";
//   by-group         items of other groups (index one kernel, query another);
//   time             items strictly earlier in time.

import type { EvalItem, Matcher } from './types.js';
import { rankQuery, type QueryRanking } from './metrics/ranking.js';
import { auc, callsDuplicate, atThreshold, bestPrecisionThreshold, expectedCalibrationError, newThreshold, recallAtPrecision, thresholdForPrecision, type DecisionPoint } from './metrics/decision.js';
import { clusterMetrics } from './metrics/clustering.js';
import { bootstrap, mean, type Interval } from './metrics/bootstrap.js';
import { averageLinkage } from '../linkage.js';
import { decide, daysApart, recurrenceDays } from '../decide.js';

export type Protocol = 'loo' | 'leave-label-out' | 'by-group' | 'time';
export const PROTOCOLS: Protocol[] = ['loo', 'leave-label-out', 'by-group', 'time'];

export interface ProtocolReport {
  protocol: Protocol;
  queries: number;
  /** Queries whose label the index holds (ranking metrics are over these). */
  withRelevant: number;
  rr1: Interval | null;
  mrr: Interval | null;
  map: Interval | null;
  r5: Interval | null;
  auc: Interval | null;
  precision: Interval | null;
  recall: Interval | null;
  /** Best recall at pair precision ≥ the target on this half's own curve (not a fitted threshold). */
  recallAtTarget: Interval | null;
  /** Expected calibration error of the best score read as P(best candidate is the same root cause), over this protocol's queries. */
  ece: Interval | null;
  /** leave-label-out: share of queries decided "new" (best < τ_new), and not called duplicate (best < τ_dup). */
  newRate: Interval | null;
  notDuplicate: Interval | null;
}

export interface ClusteringReport {
  threshold: number;
  items: number;
  labels: number;
  clusters: number;
  precision: Interval | null;
  recall: Interval | null;
  f1: Interval | null;
  spray: number;
  bugs: number;
}

export interface MatcherReport {
  matcher: string;
  about: string;
  calibrated: boolean;
  /** duplicate: τ_dup; when the precision target was not reached on the tuning half, the most precise threshold instead (duplicateReachesTarget false). */
  thresholds: { duplicate: number | null; duplicateReachesTarget: boolean; new: number | null; cluster: number | null };
  /** The same figures on the tuning half (what fitting saw), for comparison. */
  tune: { loo: ProtocolReport; clustering: ClusteringReport | null };
  test: { protocols: ProtocolReport[]; clustering: ClusteringReport | null };
}

export interface EvalReport {
  items: number;
  labels: number;
  split: { tune: { items: number; labels: number }; test: { items: number; labels: number } };
  precisionTarget: number;
  matchers: MatcherReport[];
}

export interface EvalOptions {
  protocols: Protocol[];
  /** Pair precision τ_dup is chosen for on the tuning half. */
  precisionTarget?: number;
  rounds?: number;
  seed?: number;
  clustering?: boolean;
  /** One JSON line per query of the first matcher (loo), ids from the manifest. */
  rankings?: (line: string) => void;
  progress?: (text: string) => void;
}

interface Pass {
  rankings: QueryRanking[];
  points: DecisionPoint[];
  perQuery: Array<{ q: number; top: Array<{ i: number; s: number }>; gap: number | null }>;
}

function run(items: EvalItem[], m: Matcher, queries: number[], allow: (q: number, i: number) => boolean, keepTop = false): Pass {
  const out: Pass = { rankings: [], points: [], perQuery: [] };
  for (const q of queries) {
    const pool: number[] = [];
    for (let i = 0; i < items.length; i++) if (i !== q && allow(q, i)) pool.push(i);
    if (!pool.length) {
      // Kept so that passes over the same queries stay aligned.
      out.points.push({ best: -Infinity, bestRelevant: false, hasRelevant: false });
      continue;
    }
    const scores = m.scores(q, (i) => i !== q && allow(q, i));
    const label = items[q]!.label;
    const relevant = (i: number) => items[i]!.label === label;
    const hasRelevant = pool.some(relevant);
    let best = -Infinity;
    let bestI = -1;
    for (const [i, s] of scores) if (s > best || (s === best && i < bestI)) {
      best = s;
      bestI = i;
    }
    // The engine's decision holds a call whose best match is months away from the query (decide.ts).
    const gap = m.recurrenceGuard && bestI >= 0 ? daysApart(items[q]!.time, items[bestI]!.time) : null;
    out.points.push({ best, bestRelevant: bestI >= 0 && relevant(bestI), hasRelevant, held: gap !== null && gap > recurrenceDays(), gap });
    if (hasRelevant) out.rankings.push(rankQuery(q, scores, pool, relevant));
    if (keepTop) out.perQuery.push({ q, top: [...scores].map(([i, s]) => ({ i, s })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, 10), gap });
  }
  return out;
}

function summarize(protocol: Protocol, pass: Pass, negatives: DecisionPoint[], tauDup: number | null, tauNew: number | null, o: { rounds: number; seed: number; target: number }): ProtocolReport {
  const bs = <T>(u: T[], f: (s: T[]) => number | null) => bootstrap(u, f, o);
  const r = pass.rankings;
  const pos = pass.points.filter((p) => p.hasRelevant).map((p) => p.best);
  const neg = [...negatives.map((p) => p.best), ...pass.points.filter((p) => !p.hasRelevant).map((p) => p.best)];
  const finite = (x: number) => (Number.isFinite(x) ? x : -1);
  const aucUnits = [...pos.map((s) => ({ s: finite(s), p: true })), ...neg.map((s) => ({ s: finite(s), p: false }))];
  return {
    protocol,
    queries: pass.points.length,
    withRelevant: r.length,
    rr1: bs(r, (s) => mean(s.map((x) => x.p1))),
    mrr: bs(r, (s) => mean(s.map((x) => x.rr))),
    map: bs(r, (s) => mean(s.map((x) => x.ap))),
    r5: bs(r, (s) => mean(s.map((x) => x.r5))),
    auc: bs(aucUnits, (s) => auc(s.filter((x) => x.p).map((x) => x.s), s.filter((x) => !x.p).map((x) => x.s))),
    precision: tauDup === null ? null : bs(pass.points, (s) => atThreshold(s, tauDup).precision),
    recall: tauDup === null ? null : bs(pass.points, (s) => atThreshold(s, tauDup).recall),
    recallAtTarget: bs(pass.points, (s) => recallAtPrecision(s, o.target)),
    ece: bs(pass.points, (s) => expectedCalibrationError(s)),
    newRate: null,
    notDuplicate: null,
  };
}

function clusterItems(items: EvalItem[], m: Matcher, ids: number[], threshold: number, o: { rounds: number; seed: number }): ClusteringReport {
  const assign = averageLinkage(items.length, m.edges(ids), threshold, m.missing);
  const labels = ids.map((i) => items[i]!.label);
  const cm = clusterMetrics(labels, ids.map((i) => assign[i]!));
  // Intervals: resample root causes (all items of a drawn label), the unit a cluster is judged by.
  const byLabel = new Map<string, Array<{ p: number; r: number }>>();
  for (const x of cm.perItem) {
    if (!byLabel.has(x.label)) byLabel.set(x.label, []);
    byLabel.get(x.label)!.push(x);
  }
  const units = [...byLabel.values()];
  const stat = (f: (xs: Array<{ p: number; r: number }>) => number) => (s: Array<Array<{ p: number; r: number }>>) => f(s.flat());
  const P = (xs: Array<{ p: number; r: number }>) => xs.reduce((a, x) => a + x.p, 0) / Math.max(1, xs.length);
  const R = (xs: Array<{ p: number; r: number }>) => xs.reduce((a, x) => a + x.r, 0) / Math.max(1, xs.length);
  const F = (xs: Array<{ p: number; r: number }>) => {
    const p = P(xs);
    const r = R(xs);
    return p + r ? (2 * p * r) / (p + r) : 0;
  };
  return {
    threshold, items: ids.length, labels: byLabel.size, clusters: cm.clusters,
    precision: bootstrap(units, stat(P), o), recall: bootstrap(units, stat(R), o), f1: bootstrap(units, stat(F), o),
    spray: cm.spray, bugs: cm.bugs,
  };
}

const GRID = Array.from({ length: 19 }, (_, i) => 0.05 + i * 0.05);

export function evaluate(items: EvalItem[], matchers: Matcher[], opts: EvalOptions): EvalReport {
  const target = opts.precisionTarget ?? 0.95;
  const o = { rounds: opts.rounds ?? 1000, seed: opts.seed ?? 1, target };
  const half = (s: 'tune' | 'test') => items.filter((it) => it.split === s).map((it) => it.idx);
  const tuneIds = half('tune');
  const testIds = half('test');
  const labelsOf = (ids: number[]) => new Set(ids.map((i) => items[i]!.label)).size;
  const loo = () => true;
  const llo = (q: number, i: number) => items[i]!.label !== items[q]!.label;
  const reports: MatcherReport[] = [];
  for (const [mi, m] of matchers.entries()) {
    opts.progress?.(`${m.name}: tuning half`);
    // Fit on the tuning half.
    const tLoo = run(items, m, tuneIds, loo, mi === 0 && !!opts.rankings);
    const reachedAt = m.fixedDuplicateThreshold ?? thresholdForPrecision(tLoo.points, target);
    const reached = reachedAt !== null;
    // Not reached: the most precise threshold that still calls a twentieth of the duplicates.
    const positives = tLoo.points.filter((p) => p.hasRelevant).length;
    const tauDupFit = reachedAt ?? bestPrecisionThreshold(tLoo.points, Math.max(5, Math.ceil(positives / 20)));
    const tauDup = tauDupFit ?? Infinity;
    const tauNew = m.fixedDuplicateThreshold ?? newThreshold(tLoo.points, 0.95, tauDup);
    let tauCluster: number | null = m.fixedClusterThreshold ?? null;
    let tuneClusters: ClusteringReport | null = null;
    if (opts.clustering !== false) {
      if (tauCluster === null) {
        // The best cut; when several tie, the middle one: the edge of a plateau is one merge from
        // falling off it, the middle leaves room both ways.
        const f1 = GRID.map((t) => clusterItems(items, m, tuneIds, t, { rounds: 0, seed: o.seed }).f1?.value ?? 0);
        const bestF = Math.max(...f1);
        const ties = GRID.filter((_, k) => bestF - f1[k]! < 1e-9);
        tauCluster = ties[(ties.length - 1) >> 1]!;
      }
      tuneClusters = clusterItems(items, m, tuneIds, tauCluster!, o);
    }
    const tLlo = run(items, m, tuneIds, llo);
    // Measure on the test half.
    opts.progress?.(`${m.name}: test half`);
    const protocols: ProtocolReport[] = [];
    const sLoo = run(items, m, testIds, loo, mi === 0 && !!opts.rankings);
    const sLlo = run(items, m, testIds, llo);
    for (const p of opts.protocols) {
      if (p === 'loo') protocols.push(summarize('loo', sLoo, sLlo.points.filter((_, k) => sLoo.points[k]?.hasRelevant), tauDup, tauNew, o));
      else if (p === 'leave-label-out') {
        const r = summarize('leave-label-out', sLlo, [], tauDup, tauNew, o);
        r.newRate = bootstrap(sLlo.points, (s) => mean(s.map((x) => Number(x.best < tauNew))), o);
        r.notDuplicate = bootstrap(sLlo.points, (s) => mean(s.map((x) => Number(!callsDuplicate(x, tauDup)))), o);
        protocols.push(r);
      } else if (p === 'by-group') {
        if (!items.some((it) => it.group !== null)) continue;
        const pass = run(items, m, testIds, (q, i) => items[i]!.group !== items[q]!.group);
        protocols.push(summarize('by-group', pass, run(items, m, testIds, (q, i) => items[i]!.group !== items[q]!.group && llo(q, i)).points, tauDup, tauNew, o));
      } else if (p === 'time') {
        if (!items.some((it) => it.time !== null)) continue;
        const before = (q: number, i: number) => items[i]!.time !== null && items[q]!.time !== null && items[i]!.time! < items[q]!.time!;
        const pass = run(items, m, testIds, before);
        protocols.push(summarize('time', pass, run(items, m, testIds, (q, i) => before(q, i) && llo(q, i)).points, tauDup, tauNew, o));
      }
    }
    // Both halves are written, each line marked: the tuning half's are the ones to study when
    // changing rules or weights; the test half's only say where a reported figure came from.
    if (mi === 0 && opts.rankings) for (const [split, pass] of [['tune', tLoo], ['test', sLoo]] as const) {
      for (const pq of pass.perQuery) {
        const b = pq.top[0]?.s ?? null;
        opts.rankings(JSON.stringify({
          query: items[pq.q]!.id, matcher: m.name, protocol: 'loo', split,
          candidates: pq.top.map((t) => ({ id: items[t.i]!.id, score: Math.round(t.s * 1e6) / 1e6 })),
          decision: decide(b, { duplicate: tauDup, new: tauNew }, pq.gap),
        }));
      }
    }
    reports.push({
      matcher: m.name, about: m.about, calibrated: m.calibrated,
      thresholds: { duplicate: tauDupFit, duplicateReachesTarget: reached, new: tauNew, cluster: tauCluster },
      tune: { loo: summarize('loo', tLoo, tLlo.points.filter((_, k) => tLoo.points[k]?.hasRelevant), tauDup, tauNew, { rounds: 0, seed: o.seed, target }), clustering: tuneClusters },
      test: { protocols, clustering: opts.clustering !== false ? clusterItems(items, m, testIds, tauCluster!, o) : null },
    });
  }
  return {
    items: items.length,
    labels: labelsOf(items.map((it) => it.idx)),
    split: { tune: { items: tuneIds.length, labels: labelsOf(tuneIds) }, test: { items: testIds.length, labels: labelsOf(testIds) } },
    precisionTarget: target,
    matchers: reports,
  };
}
