// Root-cause clusters over every stored signature: the k-nearest-neighbour
// graph from the HNSW index, each edge scored exactly, then average linkage
// cut at a threshold (src/similarity/linkage.ts). No all-pairs matrix, and
// the same store gives the same clusters every time.

import type { Engine } from './engine.js';
import type { SignatureView } from './view.js';
import { averageLinkage, type Edge } from './linkage.js';
import { FAMILIES, type FamilyName } from './scorer.js';
import { allSignatures, type StoredSignature } from './store.js';

export interface Cluster {
  id: number;
  size: number;
  members: number[];
  /** The member most similar to the others (highest mean edge similarity inside the cluster). */
  representative: { id: number; name: string; title: string | null };
  kernels: string[];
  firstSeen: string;
  lastSeen: string;
  /** Mean similarity of the edges inside the cluster (1 for a singleton). */
  tightness: number;
  /** Known issues its members are in, most members first. */
  issues: Array<{ issue: number; members: number }>;
  /** The closest other cluster and the families that tell the two apart (lowest family scores between representatives). */
  nearest: { cluster: number; similarity: number; separatedBy: FamilyName[] } | null;
}

export interface ClusterReport {
  threshold: number;
  k: number;
  signatures: number;
  edges: number;
  clusters: Cluster[];
  /** The graph clustering cut: signature ids by position, and the exactly scored kNN edges between positions. */
  graph: { ids: number[]; edges: Edge[]; assign: number[] };
}

export async function clusterStore(engine: Engine, opts: { threshold: number; k: number }): Promise<ClusterReport> {
  const store = engine.store;
  const sigs = await allSignatures(store);
  const pos = new Map(sigs.map((s, i) => [s.id, i]));
  const views = await store.views(sigs.map((s) => s.id));
  const vectors = new Map<number, Float32Array>();
  for (let after = 0; ; ) {
    const rows = await store.vectorsAfter(after, 5000);
    if (!rows.length) break;
    for (const r of rows) vectors.set(r.id, r.vector);
    after = rows[rows.length - 1]!.id;
  }
  const edges: Edge[] = [];
  const lookup = async (ids: number[]) => new Map(ids.filter((i) => views.has(i)).map((i) => [i, views.get(i)!] as [number, SignatureView]));
  for (const s of sigs) {
    const v = views.get(s.id);
    const vec = vectors.get(s.id);
    if (!v || !vec) continue;
    for (const n of await engine.neighbours(s.id, v, vec, opts.k, lookup)) {
      const j = pos.get(n.id);
      if (j !== undefined) edges.push({ a: pos.get(s.id)!, b: j, similarity: n.score });
    }
  }
  // Pairs outside each other's k nearest neighbours count as dissimilar (as vaat eval's engine does).
  const assign = averageLinkage(sigs.length, edges, opts.threshold, 'zero');
  const groups = new Map<number, number[]>();
  assign.forEach((c, i) => {
    if (!groups.has(c)) groups.set(c, []);
    groups.get(c)!.push(i);
  });
  const memberships = await store.memberships(sigs.map((s) => s.id));
  // Edge statistics per cluster and between clusters.
  const inner = new Map<number, { sum: number; n: number }>();
  const perItem = new Map<number, { sum: number; n: number }>();
  const between = new Map<string, { sum: number; n: number }>();
  for (const e of edges) {
    const ca = assign[e.a]!;
    const cb = assign[e.b]!;
    if (ca === cb) {
      const t = inner.get(ca) ?? { sum: 0, n: 0 };
      t.sum += e.similarity;
      t.n++;
      inner.set(ca, t);
      for (const x of [e.a, e.b]) {
        const p = perItem.get(x) ?? { sum: 0, n: 0 };
        p.sum += e.similarity;
        p.n++;
        perItem.set(x, p);
      }
    } else {
      const key = `${Math.min(ca, cb)}:${Math.max(ca, cb)}`;
      const t = between.get(key) ?? { sum: 0, n: 0 };
      t.sum += e.similarity;
      t.n++;
      between.set(key, t);
    }
  }
  const nearestOf = new Map<number, { cluster: number; similarity: number }>();
  for (const [key, t] of between) {
    const [x, y] = key.split(':').map(Number) as [number, number];
    const avg = t.sum / t.n;
    for (const [c, o] of [[x, y], [y, x]] as Array<[number, number]>) {
      const cur = nearestOf.get(c);
      if (!cur || avg > cur.similarity || (avg === cur.similarity && o < cur.cluster)) nearestOf.set(c, { cluster: o, similarity: avg });
    }
  }
  const clusters: Cluster[] = [];
  const repOf = new Map<number, number>();
  for (const [c, items] of groups) {
    let rep = items[0]!;
    let best = -1;
    for (const i of items) {
      const p = perItem.get(i);
      const mean = p ? p.sum / p.n : 0;
      if (mean > best) {
        best = mean;
        rep = i;
      }
    }
    repOf.set(c, rep);
    const ms = items.map((i) => sigs[i]!);
    const issueCount = new Map<number, number>();
    for (const s of ms) {
      const m = memberships.get(s.id);
      if (m) issueCount.set(m.issueId, (issueCount.get(m.issueId) ?? 0) + 1);
    }
    const dates = ms.map((s) => s.ingestedAt).sort();
    const t = inner.get(c);
    clusters.push({
      id: c, size: items.length, members: ms.map((s) => s.id),
      representative: { id: sigs[rep]!.id, name: sigs[rep]!.name, title: sigs[rep]!.title },
      kernels: [...new Set(ms.map((s) => s.release).filter((r): r is string => !!r))].sort(),
      firstSeen: dates[0]!, lastSeen: dates[dates.length - 1]!,
      tightness: t ? Math.round((t.sum / t.n) * 1000) / 1000 : 1,
      issues: [...issueCount].map(([issue, n]) => ({ issue, members: n })).sort((a, b) => b.members - a.members || a.issue - b.issue),
      nearest: null,
    });
  }
  for (const cl of clusters) {
    const nb = nearestOf.get(cl.id);
    if (!nb) continue;
    const s = await engine.explain(sigs[repOf.get(cl.id)!]!.id, sigs[repOf.get(nb.cluster)!]!.id);
    const separatedBy = s ? FAMILIES.filter((f) => s.used.includes(f) && s.families[f].score! < 0.5).sort((a, b) => s.families[a].score! - s.families[b].score!) : [];
    cl.nearest = { cluster: nb.cluster, similarity: Math.round(nb.similarity * 1000) / 1000, separatedBy };
  }
  clusters.sort((a, b) => b.size - a.size || a.id - b.id);
  return { threshold: opts.threshold, k: opts.k, signatures: sigs.length, edges: edges.length, clusters, graph: { ids: sigs.map((s) => s.id), edges, assign } };
}
