// Average-linkage agglomerative clustering over a sparse similarity graph
// (the k-nearest-neighbour graph, not an all-pairs matrix): start from
// singletons, repeatedly merge the two clusters whose edges between them
// have the highest mean similarity, stop when no pair reaches the threshold.
// With a complete graph this is textbook average linkage; on a kNN graph
// pairs that are not neighbours are unknown, not zero, so the mean is over
// the edges that exist. Deterministic: ties go to the pair with the lowest
// item numbers.

export interface Edge {
  a: number;
  b: number;
  similarity: number;
}

interface Link {
  sum: number;
  count: number;
}

/** A binary max-heap of candidate merges, with stale entries skipped on pop. */
class Heap {
  private items: Array<{ avg: number; a: number; b: number }> = [];
  push(x: { avg: number; a: number; b: number }): void {
    const h = this.items;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!better(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): { avg: number; a: number; b: number } | undefined {
    const h = this.items;
    if (!h.length) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && better(h[l]!, h[m]!)) m = l;
        if (r < h.length && better(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function better(x: { avg: number; a: number; b: number }, y: { avg: number; a: number; b: number }): boolean {
  if (x.avg !== y.avg) return x.avg > y.avg;
  const xa = Math.min(x.a, x.b);
  const ya = Math.min(y.a, y.b);
  if (xa !== ya) return xa < ya;
  return Math.max(x.a, x.b) < Math.max(y.a, y.b);
}

/**
 * Cluster n items. Returns, for each item, its cluster number (0.., numbered
 * by each cluster's lowest item, in order). `missing`: what a pair without an
 * edge is — "unknown" (a kNN graph: the mean is over existing edges) or
 * "zero" (a complete graph whose zero-similarity pairs were left out: the
 * mean is over all |A|·|B| pairs, textbook average linkage).
 */
export function averageLinkage(n: number, edges: Iterable<Edge>, threshold: number, missing: 'unknown' | 'zero' = 'unknown'): number[] {
  const size = new Array<number>(n).fill(1);
  const mean = (l: Link, a: number, b: number) => (missing === 'zero' ? l.sum / (size[a]! * size[b]!) : l.sum / l.count);
  // Cluster ids are item ids of a representative; links[c] maps neighbour cluster -> summed edges.
  const links = new Map<number, Map<number, Link>>();
  const parent = Array.from({ length: n }, (_, i) => i);
  const link = (c: number) => {
    let m = links.get(c);
    if (!m) links.set(c, (m = new Map()));
    return m;
  };
  for (const e of edges) {
    if (e.a === e.b || e.a < 0 || e.b < 0 || e.a >= n || e.b >= n || !Number.isFinite(e.similarity)) continue;
    // Both directions of a kNN edge may be present: keep one value per pair (the higher).
    const ab = link(e.a).get(e.b);
    if (ab) {
      if (e.similarity > ab.sum) ab.sum = e.similarity;
      continue;
    }
    const l = { sum: e.similarity, count: 1 };
    link(e.a).set(e.b, l);
    link(e.b).set(e.a, l);
  }
  const heap = new Heap();
  for (const [a, m] of links) for (const [b, l] of m) if (a < b) heap.push({ avg: mean(l, a, b), a, b });
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  for (;;) {
    const top = heap.pop();
    if (!top || top.avg < threshold) break;
    const { a, b } = top;
    if (find(a) !== a || find(b) !== b) continue; // merged away since
    // An entry is current while both ends are clusters and their link still has this mean.
    const la = links.get(a)?.get(b);
    if (!la || mean(la, a, b) !== top.avg) continue;
    // The survivor keeps the lower id; the other's links move over, summed where both had one.
    const keep = Math.min(a, b);
    const gone = Math.max(a, b);
    parent[gone] = keep;
    size[keep] = size[keep]! + size[gone]!;
    const mk = link(keep);
    const mg = link(gone);
    mk.delete(gone);
    mg.delete(keep);
    for (const [c, l] of mg) {
      const mc = link(c);
      mc.delete(gone);
      const cur = mk.get(c);
      const merged = cur ? { sum: cur.sum + l.sum, count: cur.count + l.count } : { sum: l.sum, count: l.count };
      mk.set(c, merged);
      mc.set(keep, merged);
    }
    links.delete(gone);
    for (const [c, l] of mk) heap.push({ avg: mean(l, keep, c), a: Math.min(keep, c), b: Math.max(keep, c) });
  }
  // Number clusters by their lowest item.
  const number = new Map<number, number>();
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const r = find(i);
    if (!number.has(r)) number.set(r, number.size);
    out[i] = number.get(r)!;
  }
  return out;
}
