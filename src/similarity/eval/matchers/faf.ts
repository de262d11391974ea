// ABRT/FAF's kernel-oops problem clustering: satyr normalizes a stack (its
// 15-function blacklist dropped unless the frame is in a module), compares
// the first 16 function names by Levenshtein distance over the longer length,
// and FAF cuts an average-linkage dendrogram at 0.3. Pairs with no function
// in common are at distance 1 (FAF never compares them: its pre-clustering
// groups threads that share a function), so only those are computed.

import { dataJson } from '../../../util/datafile.js';
import { MARKERS, frameFunction, frameModule } from '../../../../features/trace.js';
import type { Edge } from '../../linkage.js';
import type { EvalItem, Matcher } from '../types.js';

interface FafData {
  fafBlacklist: string[];
  fafFrames: number;
  fafCut: number;
}

export function levenshteinSimilarity(a: string[], b: string[]): number {
  const n = a.length;
  const m = b.length;
  if (!n && !m) return 1;
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  for (let i = 1; i <= n; i++) {
    const cur = [i];
    for (let j = 1; j <= m; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return 1 - prev[m]! / Math.max(n, m);
}

export function fafMatcher(items: EvalItem[]): Matcher {
  const d = dataJson<FafData>('src/similarity/data/baselines.json');
  const black = new Set(d.fafBlacklist);
  // The document's frames carry their module ("func [mod]"); satyr keeps blacklisted module frames.
  const stacks = items.map((it) =>
    (it.sig.panic?.frames ?? []).filter((f) => !MARKERS.has(f) && (frameModule(f) || !black.has(frameFunction(f)))).map(frameFunction).slice(0, d.fafFrames),
  );
  const inverted = new Map<string, number[]>();
  stacks.forEach((s, i) => {
    for (const f of new Set(s)) {
      if (!inverted.has(f)) inverted.set(f, []);
      inverted.get(f)!.push(i);
    }
  });
  const scores = (q: number, allow: (i: number) => boolean) => {
    const out = new Map<number, number>();
    for (const f of new Set(stacks[q]!)) {
      for (const i of inverted.get(f)!) {
        if (i === q || out.has(i) || !allow(i)) continue;
        out.set(i, levenshteinSimilarity(stacks[q]!, stacks[i]!));
      }
    }
    return out;
  };
  return {
    name: 'ABRT/FAF (Levenshtein, top 16)', about: 'satyr-normalized first 16 frames, Levenshtein distance, average linkage cut at 0.3', calibrated: false,
    missing: 'zero', fixedClusterThreshold: 1 - d.fafCut,
    scores,
    edges(ids: number[]): Edge[] {
      const set = new Set(ids);
      const edges: Edge[] = [];
      for (const q of ids) for (const [j, s] of scores(q, (i) => set.has(i) && i > q)) if (s > 0) edges.push({ a: q, b: j, similarity: s });
      return edges;
    },
  };
}
