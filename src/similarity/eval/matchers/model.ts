// The engine with a learned re-ranker: HNSW proposes the same 50
// candidates, the explainable scorer compares each with the query, and the
// ranker turns each comparison into the probability of the same root cause.
// Its scores are those probabilities, so its thresholds are probabilities
// too. A ranker scoped to console queries leaves vmcore queries to the
// scorer.

import { engineMatcher } from './engine.js';
import type { FrameStats } from '../../frames.js';
import type { ScorerParams } from '../../compare/types.js';
import type { Edge } from '../../linkage.js';
import type { EvalItem, Matcher } from '../types.js';
import type { SignatureView } from '../../view.js';

/** What re-ranks: probabilities for (query, candidate) pairs. */
export interface PairRanker {
  name: string;
  /** Whether it ranks this query (else the hand-set scorer's totals stand). */
  appliesTo(query: SignatureView): boolean;
  probabilities(query: SignatureView, candidates: SignatureView[], frames: FrameStats): number[];
}

export function modelMatcher(items: EvalItem[], frames: FrameStats, ranker: PairRanker, opts: { name: string; about: string; params?: ScorerParams; candidates?: number; knn?: number }): Matcher {
  const engine = engineMatcher(items, frames, { name: 'engine', about: '', params: opts.params, candidates: opts.candidates });
  const scores = (q: number, allow: (i: number) => boolean) => {
    const base = engine.scores(q, allow);
    if (!ranker.appliesTo(items[q]!.view)) return base;
    const ids = [...base.keys()];
    const probs = ranker.probabilities(items[q]!.view, ids.map((i) => items[i]!.view), frames);
    return new Map(ids.map((i, k) => [i, probs[k]!] as [number, number]));
  };
  return {
    name: opts.name,
    about: opts.about,
    calibrated: true,
    recurrenceGuard: true,
    missing: 'zero',
    scores,
    edges(ids: number[]): Edge[] {
      const set = new Set(ids);
      const edges: Edge[] = [];
      for (const q of ids) {
        const s = scores(q, (i) => set.has(i));
        // The kNN graph: the best knn of the 50 candidates, as the engine's graph keeps.
        for (const [j, p] of [...s].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, opts.knn ?? 20)) edges.push({ a: q, b: j, similarity: p });
      }
      return edges;
    },
  };
}
