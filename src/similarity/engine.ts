// The similarity engine over a store: match a signature against the known
// issues, ingest it (store, decide, open a new issue when it is new), and
// re-derive everything when the rules or the vector layout change. HNSW
// proposes candidates; the exact scorer decides (src/similarity/scorer.ts),
// or, when the store is configured with a learned ranker that covers the
// query, the ranker's probability of the same root cause does.

import type { Signature } from '../../features/signature.js';
import { vectorize, vectorDimension } from '../../features/vector.js';
import { vectorVersion } from '../../features/rules.js';
import { VectorIndex, type IndexParams } from './hnsw.js';
import { RemoteIndex, CandidatesUnavailable, type CandidateSource, type Nearest } from './remote-index.js';
import { viewOf, storedRulesVersion, rarityNames, type SignatureView } from './view.js';
import { score as scorePair, defaultParams, FAMILIES, type FamilyName, type Score } from './scorer.js';
import type { FrameStats } from './frames.js';
import type { ScorerParams } from './compare/types.js';
import { decide, daysApart, fixedHold, recurrenceDays, defaultThresholds, thresholdsFor, type ThresholdSet, type Thresholds, validThresholds } from './decide.js';
import { StoreError, type DecisionKind, type Membership, type Store, type StoredSignature, type NameCounts, type IssueNames } from './store.js';

export interface MatchEntry {
  issue: number;
  title: string;
  status: string;
  /** The ranking value: the scorer's total, or the model's probability when a model ranked. */
  score: number;
  /** The hand-set scorer's total (equal to score when no model ranked). */
  scorer: number;
  families: Record<FamilyName, number | null>;
  reasons: string[];
  /** The stored signature of the issue that matched best. */
  signature: { id: number; name: string; kind: string; release: string | null };
}

export interface MatchResult {
  query: { name: string; hash: string; kind: string; title: string | null };
  /** What ingest would decide, and by which thresholds (console or vmcore scale). */
  decision: {
    verdict: 'duplicate' | 'new' | 'uncertain'; issue: number | null; scale: 'console' | 'vmcore' | 'model'; duplicate: number; new: number; model: string | null;
    /** Days since the best match was stored; `held` says why a duplicate call was held at uncertain (decide.ts: recurrence, a fixed issue), else null. */
    gapDays: number | null; held: string | null;
  };
  matches: MatchEntry[];
  /** Candidates HNSW proposed and the scorer re-ranked. */
  candidates: number;
}

export interface IngestResult {
  input: string;
  signature: number | null;
  hash: string | null;
  decision: DecisionKind;
  /** The issue the input is a duplicate of, was opened as (new), or came closest and waits in, pending (uncertain). */
  issue: number | null;
  /** The best-scoring known issue before this input was stored (for a new input: the one it was not close enough to). */
  closest: { issue: number; score: number } | null;
  title: string | null;
  score: number | null;
  families: Record<FamilyName, number | null> | null;
  reasons: string[];
  error: string | null;
}

/** A learned re-ranker (src/models): probabilities of the same root cause, and its own thresholds. */
export interface Reranker {
  name: string;
  appliesTo(query: SignatureView): boolean;
  /** scores: the scorer's comparison of each candidate, already made. */
  probabilities(query: SignatureView, candidates: SignatureView[], frames: FrameStats, scores?: Score[]): number[];
  thresholds: Thresholds;
}

/** A candidate's exact score under the issue it belongs to. */
interface Scored {
  issue: number;
  signatureId: number;
  score: Score;
  view: SignatureView;
}

/** What the recurrence guard and a fixed issue did to a decision, for its explanation (`held` null when neither held the call). */
function held(gapDays: number | null, fixed: string | null = null): { gapDays: number | null; held: string | null } {
  const r = gapDays !== null && gapDays > recurrenceDays() ? `best match stored ${Math.round(gapDays)} days ago (> ${recurrenceDays()}): held at uncertain, it may be another bug with the same symptom` : null;
  return { gapDays: gapDays === null ? null : Math.round(gapDays * 10) / 10, held: [r, fixed].filter((x) => x !== null).join('; ') || null };
}

/**
 * Thresholds a store was calibrated with (`vaat eval --calibrate`) hold for the scorer that made
 * the scores: one line for each scale calibrated by another scorer version (or before versions
 * were recorded). They are still used — a person recalibrates.
 */
export function calibrationNotices(config: Record<string, { scorer?: number } | undefined> | null, version: number): string[] {
  const out: string[] = [];
  for (const scale of ['console', 'vmcore']) {
    const c = config?.[scale];
    if (!c || c.scorer === version) continue;
    out.push(`the store's ${scale} thresholds were calibrated ${c.scorer === undefined ? 'by an older vaat (scorer version not recorded)' : `with scorer version ${c.scorer}`}; this vaat scores with version ${version}: recalibrate with vaat eval --calibrate`);
  }
  return out;
}

/** How old the thresholds an engine decides by may be (ms): see Engine.thresholds. */
const THRESHOLDS_MAX_AGE_MS = 1000;
/**
 * How old an engine's name counts may get before a catch-up reads them all again (ms): its own
 * decisions and the signatures other writers store keep them exact, but a person's label, merge
 * or split in another process moves counts this engine hears nothing of.
 */
const NAMES_MAX_AGE_MS = 60_000;
/** How many signatures stored by others meanwhile an optimistic decision scores itself before it ranks afresh. */
const RECENT_RESCORE = 200;
/** How many recent additions the engine remembers. */
const RECENT = 4096;
/**
 * The least time between the starts of two background catch-ups (ms): notices that arrive meanwhile
 * wait and are taken in together. A catch-up is three reads of the store, and under a steady stream
 * of ingests every notice used to start one for one signature — on PostgreSQL a third of a query
 * node's CPU during the fleet bench's console ingest. A new signature still reaches every node well
 * within the second the fleet promises.
 */
const SYNC_PACE_MS = 50;

interface Ranked {
  issue: number;
  signatureId: number;
  score: Score;
  /** The model's probability, when a model ranked. */
  prob: number | null;
}

const value = (r: Ranked) => r.prob ?? r.score.total;

export interface EngineOptions {
  /** A learned re-ranker; absent: the hand-set scorer ranks and decides. */
  reranker?: Reranker | null;
  /** Candidates taken from HNSW for exact re-ranking. */
  candidates?: number;
  /** See NAMES_MAX_AGE_MS (tests set 0: every catch-up reads every count). */
  namesMaxAgeMs?: number;
  params?: ScorerParams;
  index?: IndexParams;
  /**
   * Another node answers this engine's searches (a fleet worker asking the service): no HNSW
   * index here, only what was stored since the engine opened (remote-index.ts).
   */
  remote?: CandidateSource;
  notice?: (line: string) => void;
}

/**
 * Names counted over known issues (scorer version 8), kept current by this engine's own decisions
 * and refreshed from the store for what other writers stored (Engine.catchUp). A person's moves in
 * another process (issue label, merge, split) reach it when one of the names is refreshed, or at
 * the latest at the first catch-up after NAMES_MAX_AGE_MS, which reads every count again.
 */
class CountedNames implements FrameStats {
  /**
   * Moves on whenever a count or the issue total changes: a score made before it moved weighed
   * names by other counts and must be made again (Engine.ingest's scores from before the lock).
   */
  version = 0;
  constructor(public n: number, private readonly counts: Map<string, number>) {}
  df(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  /** An issue `issue` was opened with these names. */
  opened(issue: number, names: string[]): void {
    if (issue > this.n) this.version++;
    this.n = Math.max(this.n, issue);
    this.grew(names);
  }
  /** These names became present in an issue that lacked them. */
  grew(names: string[]): void {
    if (names.length) this.version++;
    for (const f of names) this.counts.set(f, (this.counts.get(f) ?? 0) + 1);
  }
  /** The store's counts for some names (and the issues opened). */
  refresh(names: string[], c: NameCounts): void {
    if (c.issues > this.n || names.some((f) => (c.df.get(f) ?? 0) !== (this.counts.get(f) ?? 0))) this.version++;
    this.n = Math.max(this.n, c.issues);
    for (const f of names) this.counts.set(f, c.df.get(f) ?? 0);
  }
  /** Every count as the store has it now. */
  replace(c: NameCounts): void {
    this.version++;
    this.n = c.issues;
    this.counts.clear();
    for (const [f, n] of c.df) this.counts.set(f, n);
  }
}

/** Every evidence member's names under its issue (Store.rebuildNameCounts), read a page at a time. */
export async function* issueNames(store: Store, page = 2000): AsyncIterable<IssueNames> {
  for (let after = 0; ; ) {
    const sigs = await store.signaturesPage(after, page);
    if (!sigs.length) return;
    after = sigs[sigs.length - 1]!.id;
    const ids = sigs.map((s) => s.id);
    // Both reads at once: on PostgreSQL they are two round trips, on two pool connections.
    const [members, views] = await Promise.all([store.memberships(ids), store.views(ids)]);
    for (const id of ids) {
      const m = members.get(id);
      const v = views.get(id);
      if (m && !m.pending && v) yield { issue: m.issueId, names: rarityNames(v) };
    }
  }
}

/** Candidates and signatures stored after them, merged by exact similarity to `vector`: the k most similar (ties by id). */
function withAdded(cands: Array<{ id: number; similarity: number }>, added: Array<{ id: number; vector: Float32Array }>, vector: Float32Array, k: number): Array<{ id: number; similarity: number }> {
  const dot = (v: Float32Array) => {
    let x = 0;
    for (let i = 0; i < v.length; i++) x += v[i]! * vector[i]!;
    return Math.fround(x);
  };
  const seen = new Set(cands.map((c) => c.id));
  const all = [...cands, ...added.filter((a) => !seen.has(a.id)).map((a) => ({ id: a.id, similarity: dot(a.vector) }))];
  all.sort((a, b) => b.similarity - a.similarity || a.id - b.id);
  return all.slice(0, k);
}

const familyScores = (s: Score): Record<FamilyName, number | null> =>
  Object.fromEntries(FAMILIES.map((f) => [f, s.used.includes(f) ? Math.round(s.families[f].score! * 1000) / 1000 : null])) as Record<FamilyName, number | null>;

/** A known issue's title from the signature that opened it. */
export function issueTitle(sig: Signature): string {
  const p = sig.panic;
  return p?.title ?? (p?.message ? `kernel panic: ${p.message}` : `unknown crash${p?.kind ? ` (${p.kind})` : ''}`);
}

/** Views by signature id, most recently used last (views never change but on reindex, which reopens). */
class ViewCache {
  private readonly map = new Map<number, SignatureView>();
  constructor(private readonly max: number) {}
  async get(ids: number[], load: (ids: number[]) => Promise<Map<number, SignatureView>>): Promise<Map<number, SignatureView>> {
    const out = new Map<number, SignatureView>();
    const missing: number[] = [];
    for (const id of ids) {
      const v = this.map.get(id);
      if (v) {
        this.map.delete(id);
        this.map.set(id, v);
        out.set(id, v);
      } else missing.push(id);
    }
    if (missing.length) {
      for (const [id, v] of await load(missing)) {
        out.set(id, v);
        this.put(id, v);
      }
    }
    return out;
  }
  put(id: number, v: SignatureView): void {
    this.map.set(id, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

export class Engine {
  private readonly viewCache = new ViewCache(200_000);
  /**
   * Why this engine's in-memory index must not be saved: the store failed to take a write (a full
   * disk), so the index may hold what a rolled-back batch added. The file saved last stays; the next
   * open brings it up to date from the database by sequence, which holds only what was committed.
   */
  private abandoned: string | null = null;

  private constructor(
    readonly store: Store,
    private readonly index: VectorIndex | RemoteIndex,
    private readonly frames: CountedNames,
    readonly params: ScorerParams,
    private readonly k: number,
    readonly reranker: Reranker | null,
    /** Why the store's signatures do not match this vaat's rules or layout, or null. */
    readonly stale: string | null,
  ) {}

  static async open(store: Store, opts: EngineOptions = {}): Promise<Engine> {
    const meta = await store.meta();
    const dim = vectorDimension();
    const vv = vectorVersion();
    const rv = storedRulesVersion();
    let stale: string | null = null;
    if (meta.vectorVersion === null) await store.setVersions({ vectorVersion: vv, rulesVersion: rv, dimension: dim });
    else if (meta.vectorVersion !== vv || meta.dimension !== dim) stale = `the store's vectors use layout ${meta.vectorVersion} (${meta.dimension} dimensions), this vaat ${vv} (${dim})`;
    else if (meta.rulesVersion !== rv) stale = `the store's signatures were made by rules ${meta.rulesVersion}, this vaat has ${rv}`;
    if (stale) opts.notice?.(`${stale}: run vaat reindex`);
    const params = opts.params ?? defaultParams();
    for (const line of calibrationNotices(await store.config<Record<string, { scorer?: number } | undefined>>('thresholds'), params.version)) opts.notice?.(line);
    const indexDim = meta.dimension ?? dim;
    // Index and name counts read under the write lock: both describe the same signatures.
    const { index, nc } = await store.exclusive(async () => {
      if (!meta.namesCounted) {
        // A store from before names were counted per issue (schema migrated): count them once, from the views.
        if ((await store.count()) > 0) opts.notice?.('counting names over known issues (once, for rarity: scorer version 8)');
        await store.rebuildNameCounts(issueNames(store));
      }
      return {
        // A remote index starts where the store is: the history is the answering node's.
        index: opts.remote ? new RemoteIndex(opts.remote, indexDim, await store.maxSeq(), meta.createdAt) : await VectorIndex.open(store, store.location, { dimension: indexDim, vectorVersion: meta.vectorVersion ?? vv, params: opts.index, notice: opts.notice }),
        nc: await store.nameCounts(),
      };
    });
    const engine = new Engine(store, index, new CountedNames(nc.issues, nc.df), params, opts.candidates ?? 50, opts.reranker ?? null, stale);
    engine.namesMaxAgeMs = opts.namesMaxAgeMs ?? NAMES_MAX_AGE_MS;
    engine.recentFrom = index.seq;
    engine.storeCreated = meta.createdAt;
    return engine;
  }

  /**
   * Take in what other writers (processes, machines) stored since: their vectors
   * into the index, their frames into the rarity counts, so that every node
   * scores as one store would. The ids taken in.
   */
  sync(): Promise<number[]> {
    // One catch-up at a time in a process: two at once would read the same rows and count their frames twice.
    return this.inTurn(() => this.catchUp());
  }

  /**
   * Run `f` when no catch-up runs, and let none start until it ends. A catch-up sets name counts
   * to what the store holds; a decision adds its own names to the counts after its commit. A
   * catch-up in the background (a notice) that read the store between that commit and that
   * addition counted the decision's names twice, so a later score drifted from the one store's
   * (a fleet test: the closest score of a new report 0.359 where the embedded store gives 0.362).
   */
  private inTurn<T>(f: () => Promise<T>): Promise<T> {
    const run = this.syncing.then(f);
    this.syncing = run.catch(() => {});
    return run;
  }

  private syncing: Promise<unknown> = Promise.resolve();

  /**
   * A catch-up soon, in the background (a node told that others committed): at most one starts per
   * SYNC_PACE_MS; calls while one waits to start join it, calls while one runs make one more after
   * it, not one each — a stream of notices costs a read per pace, not one per notice.
   * `announced`: the signature a notice announced; none when it is one this index holds already
   * (this engine's own commit).
   */
  syncSoon(announced?: number): void {
    if (announced !== undefined && announced <= this.index.seq) return;
    if (this.soon) {
      // A catch-up still waiting for its turn takes this one in; one under way may have read before it.
      if (this.soonRunning) this.soonAgain = true;
      return;
    }
    const wait = this.soonStartedAt + SYNC_PACE_MS - Date.now();
    const start = () => {
      this.soonStartedAt = Date.now();
      this.soonRunning = true;
      return this.sync();
    };
    const paced = wait > 0 ? new Promise<void>((resolve) => setTimeout(resolve, wait).unref()).then(start) : start();
    this.soon = paced.catch(() => {}).finally(() => {
      this.soon = null;
      this.soonRunning = false;
      if (this.soonAgain) {
        this.soonAgain = false;
        this.syncSoon();
      }
    });
  }

  private soon: Promise<unknown> | null = null;
  private soonAgain = false;
  private soonStartedAt = 0;
  private soonRunning = false;

  private namesMaxAgeMs = NAMES_MAX_AGE_MS;
  private namesReadAt = Date.now();

  private async catchUp(): Promise<number[]> {
    const added = await this.index.catchUp(this.store, (id, seq, vector) => this.noteAdded(id, seq, vector));
    const ids = added.map((a) => a.id);
    const names = new Set<string>();
    if (ids.length) {
      const vs = await this.store.views(ids);
      for (const id of ids) {
        const v = vs.get(id);
        if (!v) continue;
        for (const n of rarityNames(v)) names.add(n);
        this.viewCache.put(id, v);
      }
    }
    if (Date.now() - this.namesReadAt >= this.namesMaxAgeMs) {
      // Every count afresh now and then: a person's moves elsewhere reach this engine within that.
      this.frames.replace(await this.store.nameCounts());
      this.namesReadAt = Date.now();
    } else if (names.size) {
      // Whether the others' signatures brought a name to an issue only the store knows: read those names' counts.
      const list = [...names];
      this.frames.refresh(list, await this.store.nameCounts(list));
    }
    return ids;
  }

  /** Signatures this index took in, by sequence number, newest last (what an optimistic decision checks). */
  private recent: Array<{ seq: number; id: number; vector: Float32Array }> = [];
  /** `recent` holds every signature taken in with a sequence number above this one (the index's at open, then the last entry trimmed). */
  private recentFrom = 0;

  private noteAdded(id: number, seq: number, vector: Float32Array): void {
    this.recent.push({ seq, id, vector });
    if (this.recent.length > 2 * RECENT) {
      this.recentFrom = this.recent[this.recent.length - RECENT - 1]!.seq;
      this.recent = this.recent.slice(-RECENT);
    }
  }

  /** The ids added since sequence number `seq`, or null when more than RECENT_RESCORE were (or they are not known here). */
  private addedSince(seq: number): Array<{ id: number; vector: Float32Array }> | null {
    if (seq < this.recentFrom) return null;
    const out: Array<{ id: number; vector: Float32Array }> = [];
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const r = this.recent[i]!;
      if (r.seq <= seq) return out;
      out.push(r);
      if (out.length > RECENT_RESCORE) return null;
    }
    return out;
  }

  /**
   * What was stored after `seq`, read from the store (at most RECENT_RESCORE, else null): for a
   * remote index whose answer predates what this engine remembers (it started after that state).
   */
  private async readAddedSince(seq: number): Promise<Array<{ id: number; vector: Float32Array }> | null> {
    const rows = await this.store.vectorsAfter(seq, RECENT_RESCORE + 1);
    return rows.length > RECENT_RESCORE ? null : rows;
  }

  /**
   * The k nearest stored signatures, and the sequence number of the index that answered: this
   * node's, or the remote one's (which may be behind or ahead of this node's catch-up).
   */
  private async nearest(vector: Float32Array, k: number, filter?: (id: number) => boolean): Promise<Nearest> {
    const ix = this.index;
    if (ix instanceof VectorIndex) return { seq: ix.seq, candidates: ix.search(vector, k, filter) };
    const r = await ix.search(vector, filter ? k + 1 : k);
    const cands = filter ? r.candidates.filter((c) => filter(c.id)) : r.candidates;
    // What this engine took in after the answering index's state (its own commits above all: the
    // service hears of them within its catch-up pace) joins by its exact similarity, so that the
    // answer is as of this engine's state and a decision under the lock re-scores only what is
    // stored after it, not every candidate again.
    const added = r.seq < ix.seq ? this.addedSince(r.seq) : null;
    if (!added) return { seq: r.seq, candidates: cands.slice(0, k) };
    return { seq: ix.seq, candidates: withAdded(cands, filter ? added.filter((a) => filter(a.id)) : added, vector, k) };
  }

  /** This node's own index answering another node's search (the service's POST /v1/candidates); the dimension it expects. */
  nearestHere(vector: Float32Array, k: number): Nearest {
    if (!(this.index instanceof VectorIndex)) throw new StoreError('this node has no index of its own (its searches are answered remotely)');
    if (vector.length !== this.index.dimension) throw new StoreError(`a vector of ${vector.length} dimensions, the index has ${this.index.dimension}`);
    return { seq: this.index.seq, store: this.storeCreated, candidates: this.index.search(vector, k) };
  }

  /** The store's creation time (its identity for nodes asking this one for candidates). */
  private storeCreated: string | null = null;

  get dimension(): number {
    return this.index.dimension;
  }

  /**
   * The store's thresholds (its config, else the shipped defaults), read at most once a second:
   * every ingest needs them, and on PostgreSQL each read is a round trip; a recalibration (`vaat
   * eval --calibrate`, another process) reaches a running engine within that. A match reads them
   * with its candidates (Store.candidates): afresh, or on PostgreSQL from a query node's memory
   * kept current by notices and trusted only for TRUST_MS after the store last answered
   * (candidate-cache.ts), so that a node cut off from it says so (the service's 503) rather than
   * answering from its memory alone for long.
   */
  async thresholds(): Promise<ThresholdSet> {
    const now = Date.now();
    if (this.thresholdsRead && now - this.thresholdsRead.at < THRESHOLDS_MAX_AGE_MS) return this.thresholdsRead.t;
    return this.thresholdsFrom(await this.store.config<Partial<ThresholdSet>>('thresholds'), now);
  }

  /** The store's `thresholds` config read as a threshold set (shipped defaults for what it lacks), remembered as read at `now`. */
  private thresholdsFrom(c: Partial<ThresholdSet> | null, now: number): ThresholdSet {
    const d = defaultThresholds();
    const t: ThresholdSet = { console: c?.console ?? d.console, vmcore: c?.vmcore ?? d.vmcore };
    const bad = validThresholds(t);
    if (bad) throw new StoreError(`store config: ${bad}`);
    this.thresholdsRead = { at: now, t };
    return t;
  }

  private thresholdsRead: { at: number; t: ThresholdSet } | null = null;

  /** The known issues closest to a signature, best first, with the scorer's breakdown. */
  async match(sig: Signature, opts: { k?: number; exclude?: number } = {}): Promise<MatchResult> {
    const view = viewOf(sig);
    const cands = (await this.nearest(vectorize(sig), this.k, opts.exclude !== undefined ? (id) => id !== opts.exclude : undefined)).candidates;
    // One read for the candidates' memberships, issues and the thresholds — with their names too
    // on a networked store: one round trip, or none on a query node that remembers them
    // (candidate-cache.ts) —; views come from the cache, read only for candidates not seen yet.
    const ctx = await this.store.candidates(cands.map((c) => c.id), 'thresholds');
    const t = this.thresholdsFrom(ctx.config as Partial<ThresholdSet> | null, Date.now());
    const ranked = this.byIssue(view, await this.scoreIds(view, cands.map((c) => c.id), ctx.members, new Map()), cands.length);
    const top = ranked.slice(0, opts.k ?? 5);
    const issues = ctx.issues;
    const sigs = ctx.signatures ?? (await this.store.signaturesById(top.map((r) => r.signatureId)));
    const matches: MatchEntry[] = [];
    for (const r of top) {
      const issue = issues.get(r.issue);
      const stored = sigs.get(r.signatureId);
      matches.push({
        issue: r.issue, title: issue?.title ?? '?', status: issue?.status ?? '?', score: Math.round(value(r) * 1000) / 1000, scorer: Math.round(r.score.total * 1000) / 1000,
        families: familyScores(r.score), reasons: r.score.reasons,
        signature: { id: r.signatureId, name: stored?.name ?? '?', kind: stored?.kind ?? '?', release: stored?.release ?? null },
      });
    }
    const { th, scale } = this.thresholdsOf(t, view, ranked[0] ?? null);
    // The query arrives now; its best match arrived when it was stored (decide.ts: recurrence).
    const gapDays = ranked[0] ? daysApart(new Date().toISOString(), sigs.get(ranked[0].signatureId)?.ingestedAt) : null;
    const fixed = ranked[0] && value(ranked[0]) >= th.duplicate ? await this.fixedHold(ranked[0].issue, issues.get(ranked[0].issue)?.status, sig.source.release) : null;
    const verdict = decide(ranked[0] ? value(ranked[0]) : null, th, gapDays, fixed);
    return {
      query: { name: sig.source.name, hash: sig.source.hash, kind: sig.source.kind, title: sig.panic?.title ?? null },
      decision: { verdict, issue: ranked[0]?.issue ?? null, scale, ...th, model: scale === 'model' ? this.reranker!.name : null, ...held(gapDays, fixed) },
      matches, candidates: ranked.candidates,
    };
  }

  /** Why a duplicate call on this issue must wait for a person (decide.ts fixedHold): read the members' releases only for a fixed issue. */
  private async fixedHold(issueId: number, status: string | undefined, release: string | null): Promise<string | null> {
    if (status !== 'fixed') return null;
    const seen = new Set((await this.store.members(issueId)).map((m) => m.signature.release).filter((r): r is string => !!r));
    return fixedHold(issueId, status, seen, release);
  }

  /** The thresholds a query's best value is judged by: the model's when it ranked, else the scorer's scale. */
  private thresholdsOf(t: ThresholdSet, view: SignatureView, best: Ranked | null): { th: Thresholds; scale: 'console' | 'vmcore' | 'model' } {
    if (this.reranker?.appliesTo(view)) return { th: this.reranker.thresholds, scale: 'model' };
    const th = thresholdsFor(t, best?.score.used ?? null);
    return { th, scale: th === t.vmcore ? 'vmcore' : 'console' };
  }

  /** Issues ranked by their best member among the HNSW candidates: by the model's probability when it covers the query, else by the exact score. */
  private async rank(view: SignatureView, vector: Float32Array): Promise<Ranked[] & { candidates: number }> {
    if (this.index instanceof RemoteIndex) {
      // Under the lock this engine has taken in everything stored; the remote answer may be older.
      const { seq, candidates } = await this.nearest(vector, this.k);
      const added = this.addedSince(seq) ?? (await this.readAddedSince(seq));
      if (added === null) throw new CandidatesUnavailable(`the candidate service (${this.index.source.name}) is more than ${RECENT_RESCORE} signatures behind the store`);
      return this.rankSince(view, vector, [], candidates, seq, added);
    }
    const cands = this.index.search(vector, this.k);
    const ids = cands.map((c) => c.id);
    const members = await this.store.memberships(ids);
    const scored = await this.scoreIds(view, ids, members, new Map());
    return this.byIssue(view, scored, cands.length);
  }

  /** Exact scores of stored signatures against a view, each under the issue `members` puts it in (pending and unknown ones left out). */
  private async scoreIds(view: SignatureView, ids: number[], members: Map<number, Membership>, known: Map<number, Scored>): Promise<Scored[]> {
    const need = ids.filter((id) => members.has(id) && !members.get(id)!.pending && !known.has(id));
    const views = await this.viewCache.get(need, (x) => this.store.views(x));
    const scored: Scored[] = [];
    for (const id of ids) {
      const m = members.get(id);
      if (!m || m.pending) continue;
      const k = known.get(id);
      if (k) {
        scored.push({ ...k, issue: m.issueId });
        continue;
      }
      const v = views.get(id);
      if (!v) continue;
      scored.push({ issue: m.issueId, signatureId: id, score: scorePair(view, v, this.frames, this.params), view: v });
    }
    return scored;
  }

  /** Each issue's best member, best issue first (the model's probabilities when it covers the query). */
  private byIssue(view: SignatureView, scored: Scored[], candidates: number): Ranked[] & { candidates: number } {
    const ranked: Ranked[] = scored.map((r) => ({ issue: r.issue, signatureId: r.signatureId, score: r.score, prob: null }));
    if (this.reranker?.appliesTo(view) && scored.length) {
      const probs = this.reranker.probabilities(view, scored.map((r) => r.view), this.frames, scored.map((r) => r.score));
      ranked.forEach((r, i) => (r.prob = probs[i]!));
    }
    const best = new Map<number, Ranked>();
    for (const r of ranked) {
      const cur = best.get(r.issue);
      if (!cur || value(r) > value(cur) || (value(r) === value(cur) && r.signatureId < cur.signatureId)) best.set(r.issue, r);
    }
    const out = [...best.values()].sort((a, b) => value(b) - value(a) || a.issue - b.issue) as Ranked[] & { candidates: number };
    out.candidates = candidates;
    return out;
  }

  /**
   * The ranking of an ingest, under the write lock, from the search and exact scores made before
   * queueing for it against what the index held then (sequence number `seq`). Nothing stored
   * since: the scores stand, the candidates' memberships are read again (a person may have moved
   * one). Something stored since: it joins the candidates by its vector's similarity, the top k
   * are kept — what the search would return now — and all are scored again, since the frames'
   * rarity moved with it. Either way the decision is the one the serial order makes (but for
   * HNSW's approximation). Too much stored since, or older than remembered: a fresh ranking.
   */
  private async rankSince(view: SignatureView, vector: Float32Array, pre: Scored[], cands: Array<{ id: number; similarity: number }>, seq: number, known = this.addedSince(seq)): Promise<Ranked[] & { candidates: number }> {
    // A remote answer older than this engine's memory: what was stored since is read (rank does that too).
    const added = known ?? (this.index instanceof RemoteIndex ? await this.readAddedSince(seq) : null);
    if (added === null) return this.rank(view, vector);
    if (!added.length) {
      const ids = cands.map((c) => c.id);
      const known = new Map(pre.map((r) => [r.signatureId, r]));
      return this.byIssue(view, await this.scoreIds(view, ids, await this.store.memberships(ids), known), cands.length);
    }
    const ids = withAdded(cands, added, vector, this.k).map((c) => c.id);
    return this.byIssue(view, await this.scoreIds(view, ids, await this.store.memberships(ids), new Map()), ids.length);
  }

  /**
   * Store a signature and decide what it is. The HNSW search and the exact
   * scores are made first, outside the lock; under the store's write lock the
   * index takes in what other writers stored meanwhile, the hash is looked up
   * again, what was stored meanwhile is scored and the candidates'
   * memberships read again (rankSince), and signature, membership and decision
   * are committed together — a decision is only returned once it is durable.
   */
  async ingest(sig: Signature, input: { path: string | null; logText: string | null }): Promise<IngestResult> {
    if (this.stale) throw new StoreError(`${this.stale}: run vaat reindex before ingesting`);
    const name = input.path ?? sig.source.name;
    const known = await this.store.findByHash(sig.source.hash);
    if (known) return this.sameDump(name, known);
    const view = viewOf(sig);
    const vector = vectorize(sig);
    const t = await this.thresholds();
    // Take in what other writers committed before queueing for the lock, so that under it only
    // what they commit meanwhile is left to add: with several writers the catch-up (HNSW inserts of
    // the others' signatures) would otherwise be serialized with the decisions. A store that hears
    // of commits (PostgreSQL's notices, when listening) spares the round trip when it heard of none:
    // under the lock the catch-up asks anyway.
    if (this.store.mayHaveAfter?.(this.index.seq) ?? true) await this.sync();
    // The search and the exact scores too, optimistically: under the lock only what was stored
    // meanwhile is scored (rankSince), so that several writers' decisions overlap but for that.
    const { seq, candidates: cands } = await this.nearest(vector, this.k);
    const candIds = cands.map((c) => c.id);
    const namesAt = this.frames.version;
    const pre = await this.scoreIds(view, candIds, await this.store.memberships(candIds), new Map());
    const res = await this.store.exclusive(() => this.inTurn(async () => {
      await this.catchUp();
      // The scores from before the lock stand only if every name weighed as it does now: another
      // writer's commit taken in since, or a service whose answer was ahead of this engine's
      // counts (its candidates include signatures whose names were not counted yet), moves them.
      const ranked = await this.rankSince(view, vector, this.frames.version === namesAt ? pre : [], cands, seq);
      const best = ranked[0] ?? null;
      const th = this.thresholdsOf(t, view, best).th;
      // A duplicate call is held at uncertain when its match was stored months ago (decide.ts): read its time then only.
      const gapDays = best && value(best) >= th.duplicate ? daysApart(new Date().toISOString(), (await this.store.signature(best.signatureId))?.ingestedAt) : null;
      // The issue a duplicate-worthy input would join: read once, for its status (fixedHold) and its title below.
      const bestIssue = best && value(best) >= th.duplicate ? await this.store.issue(best.issue) : null;
      const fixed = best && bestIssue ? await this.fixedHold(best.issue, bestIssue.status, sig.source.release) : null;
      const verdict = decide(best ? value(best) : null, th, gapDays, fixed);
      const names = rarityNames(view);
      const sc = best ? Math.round(value(best) * 1000) / 1000 : null;
      // Uncertain: it waits in the closest issue, pending, until a person confirms it
      // (vaat issue label) or moves it (label elsewhere, split); meanwhile it is no evidence for others.
      const opens = verdict === 'new';
      const ins = await this.store.storeDecided({
        hash: sig.source.hash, hashKind: sig.source.hashKind, kind: sig.source.kind, path: input.path, name: sig.source.name, bytes: sig.source.bytes,
        release: sig.source.release, title: sig.panic?.title ?? null, crashKind: sig.panic?.kind ?? null, document: sig, view,
        logText: input.logText, vector, vectorVersion: vectorVersion(), rulesVersion: storedRulesVersion(),
      }, {
        open: opens ? issueTitle(sig) : null, issueId: opens ? null : best!.issue, memberScore: opens ? null : sc, pending: verdict === 'uncertain', names,
        decision: verdict, input: name, score: sc, at: new Date().toISOString(),
      });
      // Stored meanwhile by another writer (the hash is unique in the store): nothing was written, no issue opened.
      if (!ins.inserted) return this.sameDump(name, (await this.store.signature(ins.id))!);
      const issue = ins.issueId;
      const title = ins.issueTitle;
      // A pending member is no evidence: its names count nowhere until a person confirms it.
      if (opens) this.frames.opened(issue, names);
      else this.frames.grew(ins.added);
      this.index.add(ins.id, vector, ins.seq);
      this.noteAdded(ins.id, ins.seq, vector);
      this.viewCache.put(ins.id, view);
      const r: IngestResult = {
        input: name, signature: ins.id, hash: sig.source.hash, decision: verdict, issue, closest: best ? { issue: best.issue, score: sc! } : null, title,
        score: verdict === 'new' ? null : sc,
        families: best ? familyScores(best.score) : null, reasons: best ? [...best.score.reasons, ...[held(gapDays, fixed).held].filter((x): x is string => x !== null)] : [], error: null,
      };
      return r;
    }));
    return res;
  }

  private async sameDump(name: string, known: StoredSignature): Promise<IngestResult> {
    const m = await this.store.membership(known.id);
    const issue = m ? await this.store.issue(m.issueId) : null;
    return { input: name, signature: known.id, hash: known.hash, decision: 'same-dump', issue: m?.issueId ?? null, closest: null, title: issue?.title ?? null, score: null, families: null, reasons: [`already stored as signature ${known.id} (${known.name})`], error: null };
  }

  /** Record an input that could not be read: the batch goes on, the failure stays on record. */
  async failed(input: string, error: string): Promise<IngestResult> {
    await this.store.recordDecision({ signatureId: null, input, decision: 'failed', issueId: null, score: null, at: new Date().toISOString() });
    return this.unrecorded(input, error);
  }

  /** A failed input's result, with nothing recorded (the store could not take it). */
  unrecorded(input: string, error: string): IngestResult {
    return { input, signature: null, hash: null, decision: 'failed', issue: null, closest: null, title: null, score: null, families: null, reasons: [], error };
  }

  /** The exact score of two stored signatures (the explanation `vaat issue show` and reports print). */
  async explain(a: number, b: number): Promise<Score | null> {
    const v = await this.store.views([a, b]);
    const va = v.get(a);
    const vb = v.get(b);
    return va && vb ? scorePair(va, vb, this.frames, this.params) : null;
  }

  /** The k nearest stored signatures of a stored one, exactly re-scored (the kNN graph clustering reads). */
  async neighbours(id: number, view: SignatureView, vector: Float32Array, k: number, views: (ids: number[]) => Promise<Map<number, SignatureView>>): Promise<Array<{ id: number; score: number }>> {
    const cands = (await this.nearest(vector, k + 1, (x) => x !== id)).candidates;
    const vs = await views(cands.map((c) => c.id));
    return cands.filter((c) => vs.has(c.id)).map((c) => ({ id: c.id, score: scorePair(view, vs.get(c.id)!, this.frames, this.params).total }));
  }

  get frameStats(): FrameStats {
    return this.frames;
  }

  get indexSize(): number {
    return this.index.size;
  }

  /** Write the index file (under the write lock, so two writers do not interleave their files). */
  /** After a storage failure: keep the index file as last saved (see `abandoned`). */
  abandonIndex(reason: string): void {
    this.abandoned ??= reason;
  }

  async save(): Promise<void> {
    // A remote index has no file here: the answering node keeps its own.
    if (this.index instanceof RemoteIndex || this.abandoned) return;
    const meta = await this.store.meta();
    await this.store.exclusive(async () => {
      await this.sync();
      this.index.save(this.store.location, meta.vectorVersion ?? vectorVersion());
    });
  }

  async close(): Promise<void> {
    await this.save();
    await this.store.close();
  }
}
