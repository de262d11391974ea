// The duplicate-or-new decision as a binary classifier on a query's best
// score: ROC AUC (duplicates = queries whose root cause is in the index,
// new = queries whose root cause is not), pair precision and recall at a
// threshold, and the thresholds chosen on the tuning half.

export interface DecisionPoint {
  /** Best score over the index; -Infinity when nothing scored. */
  best: number;
  /** The best-scored item has the query's label. */
  bestRelevant: boolean;
  /** The index holds an item with the query's label. */
  hasRelevant: boolean;
  /** The best match is too far in time from the query to be called duplicate (decide.ts recurrenceDays): at most uncertain. */
  held?: boolean;
  /** Days between the query and its best match, when both have a time. */
  gap?: number | null;
}

/** Called duplicate at τ: the best score reaches it and the recurrence guard does not hold the call. */
export const callsDuplicate = (p: DecisionPoint, tau: number): boolean => p.best >= tau && !p.held;

/** ROC AUC (Mann–Whitney U with ties counted half) of positives' scores above negatives'. */
export function auc(pos: number[], neg: number[]): number | null {
  if (!pos.length || !neg.length) return null;
  const all = [...pos.map((s) => ({ s, p: 1 })), ...neg.map((s) => ({ s, p: 0 }))].sort((a, b) => a.s - b.s);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]!.p) rankSum += avgRank;
    i = j;
  }
  return (rankSum - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}

/**
 * At threshold τ: a query is called duplicate when its best score ≥ τ (and not held); the call
 * is right when the best-scored item shares its label. Precision = right calls
 * / calls; recall = right calls / queries that have a same-label item.
 */
export function atThreshold(points: DecisionPoint[], tau: number): { precision: number | null; recall: number | null; calls: number } {
  let calls = 0;
  let right = 0;
  let positives = 0;
  for (const p of points) {
    if (p.hasRelevant) positives++;
    if (callsDuplicate(p, tau)) {
      calls++;
      if (p.bestRelevant) right++;
    }
  }
  return { precision: calls ? right / calls : null, recall: positives ? right / positives : null, calls };
}

/** The lowest threshold whose precision reaches `target` (with at least `minCalls` calls); null when none does. */
export function thresholdForPrecision(points: DecisionPoint[], target: number, minCalls = 5): number | null {
  const taus = [...new Set(points.map((p) => p.best).filter(Number.isFinite))].sort((a, b) => a - b);
  for (const t of taus) {
    const r = atThreshold(points, t);
    if (r.calls >= minCalls && r.precision !== null && r.precision >= target) return t;
  }
  return null;
}

/**
 * τ_new: below it an input is called new. The highest threshold that still
 * lets at least `keep` of the right duplicate calls through (a known root cause
 * is rarely called new), never above τ_dup.
 */
export function newThreshold(points: DecisionPoint[], keep: number, tauDup: number): number {
  const right = points.filter((p) => p.hasRelevant && p.bestRelevant && Number.isFinite(p.best)).map((p) => p.best).sort((a, b) => a - b);
  if (!right.length) return Math.min(tauDup, 0.5);
  const idx = Math.max(0, Math.floor((1 - keep) * right.length));
  return Math.min(tauDup, right[idx]!);
}

/** When no threshold reaches the target: the one with the highest precision among those making at least `minCalls` calls. */
export function bestPrecisionThreshold(points: DecisionPoint[], minCalls: number): number | null {
  const taus = [...new Set(points.map((p) => p.best).filter(Number.isFinite))].sort((a, b) => a - b);
  let best: number | null = null;
  let bestP = -1;
  for (const t of taus) {
    const r = atThreshold(points, t);
    if (r.calls >= minCalls && r.precision !== null && r.precision > bestP) {
      bestP = r.precision;
      best = t;
    }
  }
  return best;
}

/**
 * Recall at pair precision ≥ target: the best recall over the thresholds whose
 * precision reaches the target (with at least `minCalls` calls) — a point read
 * off this half's own precision-recall curve, not a fitted decision; 0 when no
 * threshold reaches it.
 */
export function recallAtPrecision(points: DecisionPoint[], target: number, minCalls = 5): number | null {
  const positives = points.filter((p) => p.hasRelevant).length;
  if (!positives) return null;
  // One sweep from the highest threshold down (bootstrap calls this a thousand times).
  const xs = points.filter((p) => Number.isFinite(p.best) && !p.held).sort((a, b) => b.best - a.best);
  let calls = 0;
  let right = 0;
  let best = 0;
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j < xs.length && xs[j]!.best === xs[i]!.best) {
      calls++;
      right += Number(xs[j]!.bestRelevant);
      j++;
    }
    if (calls >= minCalls && right / calls >= target) best = Math.max(best, right / positives);
    i = j;
  }
  return best;
}

/**
 * Expected calibration error of the best score read as the probability that
 * the best candidate has the query's root cause: ten equal-width bins over
 * [0, 1], |mean score − share right| weighted by the bin's size.
 */
export function expectedCalibrationError(points: DecisionPoint[]): number | null {
  const xs = points.filter((p) => Number.isFinite(p.best));
  if (!xs.length) return null;
  const bins = Array.from({ length: 10 }, () => ({ n: 0, s: 0, right: 0 }));
  for (const p of xs) {
    const b = bins[Math.min(9, Math.max(0, Math.floor(p.best * 10)))]!;
    b.n++;
    b.s += Math.min(1, Math.max(0, p.best));
    b.right += Number(p.bestRelevant);
  }
  return bins.reduce((a, b) => a + (b.n ? (b.n / xs.length) * Math.abs(b.s / b.n - b.right / b.n) : 0), 0);
}
