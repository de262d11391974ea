// A FaST/TraceSim-style stack matcher: the engine's stack alignment alone
// (order-preserving, frames weighted by position and rarity), no title, no
// kind, no machine state — the best published stack-similarity method, on
// the same frames the engine reads.

import { alignStacks, significantFrames, DEFAULT_ALIGN, type FrameStats } from '../../frames.js';
import type { Edge } from '../../linkage.js';
import type { EvalItem, Matcher } from '../types.js';

export function fastMatcher(items: EvalItem[], frames: FrameStats): Matcher {
  const stacks = items.map((it) => it.view.panic?.frames ?? []);
  const inverted = new Map<string, number[]>();
  stacks.forEach((s, i) => {
    for (const f of new Set(significantFrames(s, DEFAULT_ALIGN.depth))) {
      if (!inverted.has(f)) inverted.set(f, []);
      inverted.get(f)!.push(i);
    }
  });
  const scores = (q: number, allow: (i: number) => boolean) => {
    const out = new Map<number, number>();
    for (const f of new Set(significantFrames(stacks[q]!, DEFAULT_ALIGN.depth))) {
      for (const i of inverted.get(f) ?? []) {
        if (i === q || out.has(i) || !allow(i)) continue;
        out.set(i, alignStacks(stacks[q]!, stacks[i]!, frames).similarity);
      }
    }
    return out;
  };
  return {
    name: 'FaST-style alignment', about: 'order-preserving stack alignment, position and IDF weights, stacks only', calibrated: true, missing: 'zero',
    scores,
    edges(ids: number[]): Edge[] {
      const set = new Set(ids);
      const edges: Edge[] = [];
      for (const q of ids) for (const [j, s] of scores(q, (i) => set.has(i) && i > q)) if (s > 0) edges.push({ a: q, b: j, similarity: s });
      return edges;
    },
  };
}
