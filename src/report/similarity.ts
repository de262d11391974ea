// The similarity report of a store, as one JSON document: the overview
// (inputs, root causes, decisions, per kernel and per day), the cluster map
// (every signature placed in 2-D by UMAP over the engine's exactly scored
// kNN graph, seeded, so the picture is the same each time), the clusters with
// their nearest neighbours and what separates them, per-cluster detail
// (members, which families agree inside, the representative's stack and lock
// chain), the engine's scores of neighbouring pairs for side-by-side diffs,
// and how title equality and the panic-stack key would have bucketed the
// same signatures. The text form and the HTML page are both made from it.

import { UMAP } from 'umap-js';
import type { Engine } from '../similarity/engine.js';
import { clusterStore, type Cluster } from '../similarity/cluster.js';
import { FAMILIES } from '../similarity/scorer.js';
import type { SignatureView } from '../similarity/view.js';
import { allSignatures, type StoredSignature } from '../similarity/store.js';
import { sysomFrames } from '../similarity/eval/matchers/sysom.js';
import { rng } from '../similarity/eval/metrics/bootstrap.js';
import type { Signature } from '../../features/signature.js';

/** One signature as the page shows it; fields a signature lacks are left out (the file stays small at 10,000). */
export interface SigSummary {
  id: number;
  name: string;
  kind: string;
  release?: string;
  title?: string;
  crashKind?: string;
  ingestedAt: string;
  issue?: number;
  cluster: number;
  frames?: string[];
  locks?: string[];
  runqueue?: string;
  cgroup?: string[];
  taint?: string;
  cpu?: string;
}

const some = <T>(x: T | null | undefined): T | undefined => (x === null || x === undefined || (Array.isArray(x) && !x.length) ? undefined : x);

export interface PairScore {
  a: number;
  b: number;
  total: number;
  /** Each family's score in the report's `families` order (null: left out for this pair). */
  families: Array<number | null>;
  reasons: string[];
}

export interface ClusterDetail {
  id: number;
  members: number[];
  /** Sampled pairs inside the cluster with each family's score (null: not comparable). */
  agreement: { pairs: Array<[number, number]>; scores: Array<Array<number | null>> };
  stack: string[];
  lockChain: { nodes: Array<{ id: string; kind: 'holder' | 'lock' | 'waiter'; label: string }>; links: Array<{ from: string; to: string; label: string }> } | null;
}

export interface BaselineBuckets {
  name: string;
  about: string;
  buckets: number;
  /** Share of known issues (with ≥ 2 signatures) whose signatures land in more than one bucket. */
  spray: number;
  /** Share of buckets (with ≥ 2 signatures) that hold signatures of more than one known issue. */
  bugs: number;
}

export interface SimilarityReport {
  kind: 'similarity';
  generatedAt: string;
  source: string;
  families: readonly string[];
  overview: {
    signatures: number;
    vmcores: number;
    logs: number;
    issues: number;
    clusters: number;
    multiClusters: number;
    decisions: Record<string, number>;
    pending: number;
    perKernel: Array<{ release: string; count: number }>;
    perDay: Array<{ day: string; count: number }>;
  };
  clustering: { threshold: number; k: number; edges: number };
  layout: 'umap' | 'circle';
  points: Array<[x: number, y: number, id: number]>;
  clusters: Array<Omit<Cluster, 'members'> & { members: number; title: string | null }>;
  details: ClusterDetail[];
  signatures: SigSummary[];
  pairs: PairScore[];
  baselines: BaselineBuckets[];
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

function lockLines(doc: Signature | null): string[] {
  const l = doc?.locks;
  if (!l) return [];
  return l.locks.slice(0, 4).map((e) => `${e.kind} ${e.name ?? '(heap lock)'}${e.held ? ` (for ${e.held})` : ''}${e.holder ? ` held by ${e.holder.comm} (${e.holder.state}${e.holder.frames.length ? `: ${e.holder.frames.slice(0, 3).join(' < ')}` : ''})` : ', holder unknown'}; ${e.waiters} waiter${e.waiters === 1 ? '' : 's'}${e.waiterComms.length ? ` (${e.waiterComms.slice(0, 4).join(', ')})` : ''}${e.waitFor?.length ? `, waiting to ${e.waitFor.join('/')}` : ''}`);
}

function summary(s: StoredSignature, v: SignatureView | undefined, doc: Signature | null, issue: number | null, cluster: number): SigSummary {
  const rq = v?.runqueue;
  const cpu = v?.cpu;
  return {
    id: s.id, name: s.name, kind: s.kind, release: some(s.release), title: some(s.title), crashKind: some(s.crashKind), ingestedAt: s.ingestedAt, issue: some(issue), cluster,
    frames: some((v?.panic?.frames ?? []).slice(0, 16)),
    locks: some(lockLines(doc)),
    runqueue: rq ? `imbalance ${rq.ratio}, busiest ${rq.max} tasks, ${rq.idleCpus}/${rq.cpus} CPUs idle${rq.idleWhileOverloaded ? ', idle while overloaded' : ''}${rq.longest ? `, longest runner ${rq.longest.comm} ${rq.longest.seconds} s` : ''}` : undefined,
    cgroup: some((v?.cgroup?.hot ?? []).slice(0, 4).map((h) => `${h.path}: ${h.blocked} blocked, ${h.running} running${h.throttled ? ', throttled' : ''}`)),
    taint: v?.taint ? `${v.taint.letters || '-'}${v.taint.modules.length ? ` (${v.taint.modules.slice(0, 6).join(', ')})` : ''}` : undefined,
    cpu: cpu ? `${cpu.online} online, ${cpu.noRegisters} without saved registers, ${cpu.idle} idle${cpu.busy.length ? `, busy: ${cpu.busy.slice(0, 4).join(', ')}` : ''}` : undefined,
  };
}

function lockChain(doc: Signature | null): ClusterDetail['lockChain'] {
  const l = doc?.locks;
  if (!l || !l.locks.length) return null;
  const nodes: NonNullable<ClusterDetail['lockChain']>['nodes'] = [];
  const links: NonNullable<ClusterDetail['lockChain']>['links'] = [];
  const seen = new Set<string>();
  const node = (id: string, kind: 'holder' | 'lock' | 'waiter', label: string) => {
    if (!seen.has(id)) nodes.push({ id, kind, label });
    seen.add(id);
  };
  l.locks.slice(0, 5).forEach((e, i) => {
    const lock = `lock:${i}`;
    node(lock, 'lock', `${e.kind} ${e.name ?? '(heap lock)'}`);
    if (e.holder) {
      const h = `holder:${e.holder.comm}:${e.holder.pid}`;
      node(h, 'holder', `${e.holder.comm} [${e.holder.state}]`);
      links.push({ from: lock, to: h, label: 'held by' });
    }
    for (const w of e.waiterComms.slice(0, 6)) {
      const id = `waiter:${w}`;
      node(id, 'waiter', w);
      links.push({ from: id, to: lock, label: 'waits for' });
    }
  });
  return { nodes, links };
}

/** Spray and bugs of a bucketing against the store's known issues. */
function bucketStats(name: string, about: string, keys: Array<string | null>, issues: Array<number | null>): BaselineBuckets {
  const byBucket = new Map<string, Set<number>>();
  const byIssue = new Map<number, Set<string>>();
  const sizes = new Map<string, number>();
  const issueSizes = new Map<number, number>();
  keys.forEach((k0, i) => {
    const k = k0 ?? `\0unique:${i}`;
    sizes.set(k, (sizes.get(k) ?? 0) + 1);
    const iss = issues[i];
    if (iss === null || iss === undefined) return;
    issueSizes.set(iss, (issueSizes.get(iss) ?? 0) + 1);
    if (!byBucket.has(k)) byBucket.set(k, new Set());
    byBucket.get(k)!.add(iss);
    if (!byIssue.has(iss)) byIssue.set(iss, new Set());
    byIssue.get(iss)!.add(k);
  });
  const multiIssues = [...issueSizes].filter(([, n]) => n >= 2).map(([i]) => i);
  const multiBuckets = [...sizes].filter(([, n]) => n >= 2).map(([k]) => k);
  return {
    name, about, buckets: sizes.size,
    spray: multiIssues.length ? r3(multiIssues.filter((i) => byIssue.get(i)!.size > 1).length / multiIssues.length) : 0,
    bugs: multiBuckets.length ? r3(multiBuckets.filter((k) => (byBucket.get(k)?.size ?? 0) > 1).length / multiBuckets.length) : 0,
  };
}

/** 2-D positions: UMAP over the kNN graph (seeded), or a circle per cluster when there are too few points for it. */
function layout(n: number, edges: Array<{ a: number; b: number; similarity: number }>, assign: number[], k: number, seed: number): { kind: 'umap' | 'circle'; xy: Array<[number, number]> } {
  const nn = Math.max(2, Math.min(k + 1, 15));
  if (n <= nn + 1) {
    return { kind: 'circle', xy: Array.from({ length: n }, (_, i) => [r3(Math.cos((2 * Math.PI * assign[i]!) / Math.max(1, n)) * 10 + (i % 3) * 0.3), r3(Math.sin((2 * Math.PI * assign[i]!) / Math.max(1, n)) * 10 + (i % 2) * 0.3)] as [number, number]) };
  }
  const nbrs: Array<Array<[number, number]>> = Array.from({ length: n }, () => []);
  for (const e of edges) {
    const d = Math.max(0, 1 - e.similarity);
    nbrs[e.a]!.push([e.b, d]);
    nbrs[e.b]!.push([e.a, d]);
  }
  const idx: number[][] = [];
  const dist: number[][] = [];
  for (let i = 0; i < n; i++) {
    const best = new Map<number, number>();
    for (const [j, d] of nbrs[i]!) if (j !== i && (!best.has(j) || d < best.get(j)!)) best.set(j, d);
    const row = [...best].sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, nn - 1);
    const ii = [i, ...row.map((x) => x[0])];
    const dd = [0, ...row.map((x) => x[1])];
    // No neighbour scored: far from everything (distance 1 to itself-padding keeps the row length).
    while (ii.length < nn) {
      ii.push(i);
      dd.push(0);
    }
    idx.push(ii);
    dist.push(dd);
  }
  const umap = new UMAP({ nComponents: 2, nNeighbors: nn, minDist: 0.1, random: rng(seed), nEpochs: n > 5000 ? 200 : 400 });
  umap.setPrecomputedKNN(idx, dist);
  // The graph is given; the data rows only say how many points there are.
  const xy = umap.fit(Array.from({ length: n }, () => [0]));
  return { kind: 'umap', xy: xy.map((p) => [r3(p[0]!), r3(p[1]!)] as [number, number]) };
}

export async function buildSimilarityReport(engine: Engine, opts: { source: string; threshold: number; k: number; seed?: number; maxDetails?: number; pairsPerSignature?: number; progress?: (line: string) => void }): Promise<SimilarityReport> {
  const store = engine.store;
  opts.progress?.('clustering');
  const cr = await clusterStore(engine, { threshold: opts.threshold, k: opts.k });
  const ids = cr.graph.ids;
  const pos = new Map(ids.map((id, i) => [id, i]));
  const sigs = await allSignatures(store);
  const byId = new Map(sigs.map((s) => [s.id, s]));
  const views = await store.views(ids);
  const memberships = await store.memberships(ids);
  const clusterOf = new Map<number, number>();
  for (const c of cr.clusters) for (const m of c.members) clusterOf.set(m, c.id);
  const docs = new Map<number, Signature | null>();
  const doc = async (id: number) => {
    if (!docs.has(id)) docs.set(id, byId.get(id)?.kind === 'vmcore' ? await store.document(id) : null);
    return docs.get(id)!;
  };

  opts.progress?.('layout');
  const lay = layout(ids.length, cr.graph.edges, cr.graph.assign, opts.k, opts.seed ?? 1);

  opts.progress?.('pairs');
  const famScores = (s: NonNullable<Awaited<ReturnType<Engine['explain']>>>) => FAMILIES.map((f) => (s.used.includes(f) ? r3(s.families[f].score!) : null));
  const pairs: PairScore[] = [];
  const seenPair = new Set<string>();
  const addPair = async (a: number, b: number) => {
    const key = a < b ? `${a}:${b}` : `${b}:${a}`;
    if (a === b || seenPair.has(key)) return;
    seenPair.add(key);
    const s = await engine.explain(a, b);
    if (s) pairs.push({ a, b, total: r3(s.total), families: famScores(s), reasons: s.reasons.slice(0, 3) });
  };
  const nbrs = new Map<number, Array<{ j: number; s: number }>>();
  for (const e of cr.graph.edges) {
    for (const [x, y] of [[e.a, e.b], [e.b, e.a]] as Array<[number, number]>) {
      if (!nbrs.has(x)) nbrs.set(x, []);
      nbrs.get(x)!.push({ j: y, s: e.similarity });
    }
  }
  for (const [i, list] of nbrs) for (const n of list.sort((a, b) => b.s - a.s || a.j - b.j).slice(0, opts.pairsPerSignature ?? 3)) await addPair(ids[i]!, ids[n.j]!);

  opts.progress?.('clusters');
  const repOf = new Map(cr.clusters.map((c) => [c.id, c.representative.id]));
  for (const c of cr.clusters) if (c.nearest) await addPair(c.representative.id, repOf.get(c.nearest.cluster)!);
  const details: ClusterDetail[] = [];
  for (const c of cr.clusters.filter((x) => x.size >= 2).slice(0, opts.maxDetails ?? 300)) {
    const members = c.members.slice(0, 200);
    const inside = new Set(c.members.map((m) => pos.get(m)!));
    const inner = cr.graph.edges.filter((e) => inside.has(e.a) && inside.has(e.b)).sort((a, b) => a.a - b.a || a.b - b.b).slice(0, 30);
    const agreement: ClusterDetail['agreement'] = { pairs: [], scores: [] };
    for (const e of inner) {
      const s = await engine.explain(ids[e.a]!, ids[e.b]!);
      if (!s) continue;
      agreement.pairs.push([ids[e.a]!, ids[e.b]!]);
      agreement.scores.push(FAMILIES.map((f) => (s.used.includes(f) ? r3(s.families[f].score!) : null)));
    }
    const rep = c.representative.id;
    details.push({ id: c.id, members, agreement, stack: (views.get(rep)?.panic?.frames ?? []).slice(0, 24), lockChain: lockChain(await doc(rep)) });
  }

  const signatures: SigSummary[] = [];
  for (const id of ids) signatures.push(summary(byId.get(id)!, views.get(id), await doc(id), memberships.get(id)?.issueId ?? null, clusterOf.get(id) ?? -1));
  // Documents are only kept for vmcores (what lock lines need); free them.
  docs.clear();

  opts.progress?.('overview');
  const decisions: Record<string, number> = { duplicate: 0, new: 0, uncertain: 0, 'same-dump': 0, failed: 0 };
  for (const d of await store.decisions()) decisions[d.decision] = (decisions[d.decision] ?? 0) + 1;
  const issues = (await store.issues()).filter((x) => x.status !== 'merged');
  const count = <T>(xs: T[], key: (x: T) => string) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
    return m;
  };
  const perKernel = [...count(sigs, (s) => s.release ?? '(unknown)')].map(([release, n]) => ({ release, count: n })).sort((a, b) => b.count - a.count || a.release.localeCompare(b.release));
  const perDay = [...count(sigs, (s) => s.ingestedAt.slice(0, 10))].map(([day, n]) => ({ day, count: n })).sort((a, b) => a.day.localeCompare(b.day));

  const issueOf = ids.map((id) => memberships.get(id)?.issueId ?? null);
  const baselines = [
    bucketStats('engine clusters', `average linkage over the kNN graph, cut ${opts.threshold}`, ids.map((id) => String(clusterOf.get(id))), issueOf),
    bucketStats('title equality', 'syzkaller-style: same title, same bucket', ids.map((id) => byId.get(id)!.title), issueOf),
    bucketStats('panic-stack key', 'SysOM: the RIP function and the next two frames', ids.map((id) => {
      const k = sysomFrames(views.get(id)?.panic?.frames ?? []);
      return k.length ? k.join(' < ') : null;
    }), issueOf),
  ];

  return {
    kind: 'similarity', generatedAt: new Date().toISOString(), source: opts.source, families: FAMILIES,
    overview: {
      signatures: sigs.length, vmcores: sigs.filter((s) => s.kind === 'vmcore').length, logs: sigs.filter((s) => s.kind === 'console').length,
      issues: issues.length, clusters: cr.clusters.length, multiClusters: cr.clusters.filter((c) => c.size >= 2).length,
      decisions, pending: issues.reduce((a, x) => a + x.pending, 0), perKernel, perDay,
    },
    clustering: { threshold: opts.threshold, k: opts.k, edges: cr.edges },
    layout: lay.kind,
    points: lay.xy.map((p, i) => [p[0], p[1], ids[i]!]),
    clusters: cr.clusters.map((c) => ({ ...c, members: c.size, title: c.representative.title })),
    details, signatures, pairs, baselines,
  };
}

/** The same report as text, for scripts and terminals. */
export function renderSimilarityText(r: SimilarityReport): string {
  const o = r.overview;
  const out: string[] = [];
  out.push(`similarity report of ${r.source}, ${r.generatedAt}`);
  out.push(`${o.signatures} signatures (${o.vmcores} vmcores, ${o.logs} console logs); ${o.issues} known issues; ${o.clusters} clusters (${o.multiClusters} with more than one signature); ${o.pending} uncertain awaiting a person`);
  out.push(`decisions: ${Object.entries(o.decisions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(`kernels: ${o.perKernel.slice(0, 8).map((k) => `${k.release} ${k.count}`).join(', ')}${o.perKernel.length > 8 ? `, … ${o.perKernel.length - 8} more` : ''}`);
  out.push('', 'CLUSTER  SIZE  TIGHT  KERNELS  NEAREST (separated by)  TITLE');
  for (const c of r.clusters.slice(0, 30)) out.push(`${String(c.id).padStart(7)}  ${String(c.size).padStart(4)}  ${c.tightness.toFixed(2)}  ${String(c.kernels.length).padStart(7)}  ${c.nearest ? `${c.nearest.cluster} ${c.nearest.similarity.toFixed(2)} (${c.nearest.separatedBy.join(',') || '-'})` : '-'}  ${c.title ?? '-'}`);
  out.push('', 'how other keys would bucket the same signatures (against the known issues):');
  for (const b of r.baselines) out.push(`  ${b.name}: ${b.buckets} buckets, spray ${b.spray.toFixed(3)}, bugs ${b.bugs.toFixed(3)} — ${b.about}`);
  return out.join('\n') + '\n';
}
