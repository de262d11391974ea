// What an evaluation works on: labelled items with their signatures, and
// matchers that score a query against the items a protocol lets it see.

import type { Signature } from '../../../features/signature.js';
import type { SignatureView } from '../view.js';
import type { Edge } from '../linkage.js';

export interface EvalItem {
  /** Position in the set. */
  idx: number;
  id: string;
  label: string;
  kind: 'vmcore' | 'log';
  time: string | null;
  group: string | null;
  /** The half this item is in: rules, weights and thresholds are fitted on "tune", reported on "test". */
  split: 'tune' | 'test';
  sig: Signature;
  view: SignatureView;
  vector: Float32Array;
  extra: Record<string, unknown>;
}

export interface Matcher {
  name: string;
  /** One line on what it is (and where it comes from). */
  about: string;
  /** Its thresholds are fitted on the tuning half; false: fixed by the method's own documentation. */
  calibrated: boolean;
  /** Similarities of query q to the items `allow` accepts (absent: nothing in common, ranked last, tied). */
  scores(q: number, allow: (i: number) => boolean): Map<number, number>;
  /** The similarity graph among `ids` that clustering cuts. */
  edges(ids: number[]): Edge[];
  /** Pairs without an edge: unknown (a kNN graph) or zero (a complete graph that left zeros out). */
  missing: 'unknown' | 'zero';
  /** The cut of a method that documents one (FAF: distance 0.3). */
  fixedClusterThreshold?: number;
  /** Its decision is the engine's: a call whose best match is more than recurrenceDays from the query is held (decide.ts). */
  recurrenceGuard?: boolean;
  /** The decision threshold of a method that documents one (key equality: 1). */
  fixedDuplicateThreshold?: number;
}

/** Items of `ids` grouped by a key, as complete-graph edges of similarity 1 (key-equality matchers). */
export function keyEdges(ids: number[], key: (i: number) => string | null): Edge[] {
  const groups = new Map<string, number[]>();
  for (const i of ids) {
    const k = key(i);
    if (k === null) continue;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(i);
  }
  const edges: Edge[] = [];
  for (const g of groups.values()) for (let x = 0; x < g.length; x++) for (let y = x + 1; y < g.length; y++) edges.push({ a: g[x]!, b: g[y]!, similarity: 1 });
  return edges;
}
