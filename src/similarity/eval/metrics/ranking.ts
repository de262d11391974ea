// Ranking metrics of one query: where the first item with the query's label
// lands among the items the protocol lets it see. Ties are real (a key
// matcher gives many items the same score): RR@1 and MRR are their
// expectations over random tie-breaking, computed exactly; MAP and recall@k
// break ties with a fixed pseudo-random order (a hash of query and item), so
// a matcher that cannot tell candidates apart gets no lucky first places.

export interface QueryRanking {
  /** Chance the top-ranked item is relevant (RR@1 / accuracy@1). */
  p1: number;
  /** Expected reciprocal rank of the first relevant item. */
  rr: number;
  /** Average precision over all relevant items. */
  ap: number;
  /** Some relevant item among the first 5 / 10. */
  r5: number;
  r10: number;
}

function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * Expected first-relevant position under random tie-breaking: items strictly
 * better than the best relevant one come first; among the `n` tied with it,
 * `k` relevant, the first relevant is at tie position j with probability
 * C(n-j, k-1) / C(n, k).
 */
export function expectedFirstRelevant(scores: number[], relevant: boolean[]): { p1: number; rr: number; rank: number } {
  const eps = 1e-12;
  let best = -Infinity;
  for (let i = 0; i < scores.length; i++) if (relevant[i] && scores[i]! > best) best = scores[i]!;
  let closer = 0;
  let n = 0;
  let k = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s > best + eps || (best === -Infinity && s > -Infinity)) closer++;
    else if (Math.abs(s - best) <= eps || (s === -Infinity && best === -Infinity)) {
      n++;
      if (relevant[i]) k++;
    }
  }
  const total = choose(n, k);
  let rr = 0;
  let rank = 0;
  for (let j = 1; j <= n - k + 1; j++) {
    const p = choose(n - j, k - 1) / total;
    rr += p / (closer + j);
    rank += p * (closer + j);
  }
  return { p1: closer === 0 && n > 0 ? k / n : 0, rr, rank };
}

function tieKey(q: number, i: number): number {
  let h = (q * 0x9e3779b1) ^ (i * 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The metrics of query q over the items `pool` (absent from `scores`: -Infinity). */
export function rankQuery(q: number, scores: Map<number, number>, pool: number[], relevant: (i: number) => boolean): QueryRanking {
  const s = pool.map((i) => scores.get(i) ?? -Infinity);
  const rel = pool.map(relevant);
  const { p1, rr } = expectedFirstRelevant(s, rel);
  const order = pool.map((i, x) => ({ i, s: s[x]!, r: rel[x]!, t: tieKey(q, i) })).sort((a, b) => b.s - a.s || a.t - b.t);
  let hits = 0;
  let ap = 0;
  let r5 = 0;
  let r10 = 0;
  const nrel = rel.filter(Boolean).length;
  order.forEach((o, x) => {
    if (!o.r) return;
    hits++;
    ap += hits / (x + 1);
    if (x < 5) r5 = 1;
    if (x < 10) r10 = 1;
  });
  return { p1, rr, ap: nrel ? ap / nrel : 0, r5, r10 };
}
