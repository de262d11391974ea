// The known-issue store: what every implementation (SQLite embedded by
// default, PostgreSQL for fleets) keeps and answers. The database is the
// source of truth — signature documents, their vectors and scoring views,
// the input's identity, known issues and who put each signature in which
// issue — and an HNSW index is derived from it (src/similarity/index.ts).

import type { Signature } from '../../features/signature.js';
import type { SignatureView } from './view.js';

export interface NewSignature {
  /** The input's identity: the hash the signature carries (sha256 of a log, sampled sha256 of a dump). */
  hash: string;
  hashKind: string;
  kind: 'vmcore' | 'console';
  /** Where the input was found, as given. */
  path: string | null;
  name: string;
  bytes: number;
  release: string | null;
  title: string | null;
  crashKind: string | null;
  document: Signature;
  view: SignatureView;
  /** The console text the panic part was read from (a dump's log rendered as text), kept so rules can be re-applied. */
  logText: string | null;
  vector: Float32Array;
  vectorVersion: number;
  rulesVersion: string;
}

/** What storeDecided writes beside the signature. */
export interface DecidedWrite {
  /** Open a new issue with this title (a `new` decision); else join `issueId`. */
  open: string | null;
  issueId: number | null;
  /** The membership's score (null for the signature that opens its issue). */
  memberScore: number | null;
  /** Uncertain: waits in the issue, its names not counted, until a person confirms it. */
  pending: boolean;
  /** Its names (view.ts rarityNames). */
  names: string[];
  decision: DecisionKind;
  input: string;
  /** The decision record's score (the closest issue's, also for a new one). */
  score: number | null;
  at: string;
}

export type DecidedResult =
  | { inserted: false; id: number }
  | { inserted: true; id: number; seq: number; issueId: number; issueTitle: string; added: string[] };

export interface StoredSignature {
  id: number;
  /** Monotonically increasing insertion number: index catch-up reads everything after the last one it saw. */
  seq: number;
  hash: string;
  kind: 'vmcore' | 'console';
  path: string | null;
  name: string;
  bytes: number;
  release: string | null;
  title: string | null;
  crashKind: string | null;
  ingestedAt: string;
  vectorVersion: number;
  rulesVersion: string;
}

export type IssueStatus = 'open' | 'fixed' | 'closed' | 'invalid' | 'merged';

export interface Issue {
  id: number;
  title: string;
  status: IssueStatus;
  notes: string;
  links: Array<{ kind: string; url: string }>;
  /** When status is "merged": the issue it went into. */
  mergedInto: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface IssueSummary extends Issue {
  size: number;
  firstSeen: string | null;
  lastSeen: string | null;
  kernels: string[];
  /** Members decided by a person. */
  human: number;
  /** Members waiting for a person (uncertain decisions). */
  pending: number;
}

export interface Membership {
  signatureId: number;
  issueId: number;
  decidedBy: 'auto' | 'human';
  score: number | null;
  decidedAt: string;
  /** An uncertain decision: in its closest issue until a person confirms or moves it; not used as evidence for others. */
  pending: boolean;
}

export type DecisionKind = 'duplicate' | 'new' | 'uncertain' | 'same-dump' | 'failed';

export interface DecisionRecord {
  signatureId: number | null;
  input: string;
  decision: DecisionKind;
  issueId: number | null;
  score: number | null;
  at: string;
}

/** A signature's names under the issue it is evidence for (rebuildNameCounts). */
export interface IssueNames {
  issue: number;
  names: string[];
}

export interface StoreMeta {
  schemaVersion: number;
  vectorVersion: number | null;
  rulesVersion: string | null;
  dimension: number | null;
  createdAt: string | null;
  /** The per-issue name counts are kept (false in a store migrated from before them, until rebuilt). */
  namesCounted: boolean;
}

/**
 * What the store holds per name for rarity weights (scorer version 8): in how many known issues
 * each name occurs, counted over the issues' members that are evidence (not pending), and how
 * many issues were ever opened (merged ones included: the count only enters as log(n)).
 */
export interface NameCounts {
  issues: number;
  df: Map<string, number>;
}

/** Store.candidates' answer: absent ids are absent from the maps. */
export interface CandidateRows {
  members: Map<number, Membership>;
  issues: Map<number, Pick<Issue, 'id' | 'title' | 'status'>>;
  /**
   * The candidates themselves, when the store reads them in the same statement at no extra cost
   * (PostgreSQL keeps large values out of line); null when that would cost a read per row (in
   * SQLite the row's later columns sit behind the document): the caller reads the few it shows.
   */
  signatures: Map<number, StoredSignature> | null;
  config: unknown | null;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** SQLite's result codes (extended ones start with these) that say the store's storage failed, not the input. */
const SQLITE_STORAGE = /^SQLITE_(FULL|IOERR|READONLY|CORRUPT|NOTADB|CANTOPEN|NOLFS)/;
/** The same from the operating system. */
const OS_STORAGE = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EFBIG']);
/** PostgreSQL's SQLSTATE class 53 (insufficient resources: disk full, out of memory) and 58030 (I/O error). */
const PG_STORAGE = /^(53\d\d\d|58030)$/;

/**
 * Whether an error says the store can take no more writes (its disk is full, read-only or failing),
 * with a one-line reason; null for anything else. Every later write would fail the same way, so a
 * batch stops storing instead of failing each remaining input after extracting it.
 */
export function storageFailure(e: unknown): string | null {
  const code = String((e as { code?: unknown } | null)?.code ?? '');
  const msg = String((e as Error | null)?.message ?? e).split('\n')[0]!;
  if (SQLITE_STORAGE.test(code) || OS_STORAGE.has(code) || PG_STORAGE.test(code)) return `${msg} (${code})`;
  return null;
}

/**
 * One interface for every store. Methods are async so that a networked
 * database fits behind it; the embedded store answers synchronously inside.
 */
export interface Store {
  readonly location: string;
  meta(): Promise<StoreMeta>;
  setVersions(v: { vectorVersion: number; rulesVersion: string; dimension: number }): Promise<void>;
  config<T>(key: string): Promise<T | null>;
  setConfig(key: string, value: unknown): Promise<void>;

  /**
   * Run `f` holding the store's write lock: a check-then-insert (is this dump
   * stored? which issue is it?) is atomic against other writers.
   */
  exclusive<T>(f: () => Promise<T>): Promise<T>;

  findByHash(hash: string): Promise<StoredSignature | null>;
  /** Signatures whose hash starts with `prefix` (at most `limit`). */
  findByHashPrefix(prefix: string, limit: number): Promise<StoredSignature[]>;
  /**
   * An ingest's writes as one: the signature, the issue it opens (`d.open`, with that title) or
   * joins (`d.issueId`), its automatic membership (its names counted unless pending), and the
   * decision record — what createIssue, setMembership and recordDecision do for other callers —
   * in one round trip on a networked store (an ingest's writes are serial under the write lock).
   * A signature whose hash is stored already (unique in the store): nothing written, `inserted`
   * false with the stored id.
   */
  storeDecided(s: NewSignature, d: DecidedWrite): Promise<DecidedResult>;
  signature(id: number): Promise<StoredSignature | null>;
  /** Several at once (one round trip on a networked store); absent ids are absent from the map. */
  signaturesById(ids: number[]): Promise<Map<number, StoredSignature>>;
  document(id: number): Promise<Signature | null>;
  logText(id: number): Promise<string | null>;
  views(ids: number[]): Promise<Map<number, SignatureView>>;
  /** Signatures with seq > after, in seq order, with their vectors (index build and catch-up). */
  vectorsAfter(after: number, limit: number): Promise<Array<{ id: number; seq: number; vector: Float32Array }>>;
  maxSeq(): Promise<number>;
  /**
   * A hint, where the store has one without a round trip: false when no signature with a sequence
   * number above `seq` is known to have been committed (it may still be on its way). Absent or
   * true: ask (vectorsAfter).
   */
  mayHaveAfter?(seq: number): boolean;
  count(): Promise<number>;
  /** Every stored signature, in id order, a page at a time. */
  signaturesPage(afterId: number, limit: number): Promise<StoredSignature[]>;
  /** Replace what reindex recomputes. */
  updateDerived(id: number, d: { document: Signature; view: SignatureView; vector: Float32Array; vectorVersion: number; rulesVersion: string; title: string | null; crashKind: string | null }): Promise<void>;

  /** Every name's count (no argument), or only these names'. */
  nameCounts(names?: string[]): Promise<NameCounts>;
  /** Replace the per-issue name counts (reindex; a store migrated from before they were kept); marks them counted. */
  rebuildNameCounts(entries: AsyncIterable<IssueNames> | Iterable<IssueNames>): Promise<void>;

  createIssue(title: string): Promise<Issue>;
  issue(id: number): Promise<Issue | null>;
  /** Several at once, with their links; absent ids are absent from the map. */
  issuesById(ids: number[]): Promise<Map<number, Issue>>;
  issues(opts?: { status?: IssueStatus[] }): Promise<IssueSummary[]>;
  updateIssue(id: number, patch: Partial<Pick<Issue, 'title' | 'status' | 'notes' | 'mergedInto'>>): Promise<void>;
  addLink(id: number, kind: string, url: string): Promise<void>;
  membership(signatureId: number): Promise<Membership | null>;
  memberships(signatureIds: number[]): Promise<Map<number, Membership>>;
  members(issueId: number): Promise<Array<Membership & { signature: StoredSignature }>>;
  /**
   * Put a signature in an issue (moving it from its old one), keeping the per-issue name counts:
   * its names (view.ts rarityNames; read from its view when not given) count in the issue unless
   * pending. Resolves to the names that became present in the issue (absent from it before).
   */
  setMembership(signatureId: number, issueId: number, decidedBy: 'auto' | 'human', score: number | null, pending?: boolean, names?: string[]): Promise<string[]>;
  removeMembership(signatureId: number): Promise<void>;

  /**
   * What a match needs about its index candidates, in one read (one round trip on a networked
   * store): their memberships, the issues those name, a config value, and the candidates
   * themselves where that costs nothing more.
   */
  candidates(signatureIds: number[], configKey: string): Promise<CandidateRows>;

  recordDecision(d: DecisionRecord): Promise<void>;
  decisions(opts?: { decision?: DecisionKind; limit?: number }): Promise<DecisionRecord[]>;

  close(): Promise<void>;
}

/** Every stored signature, in id order (read a page at a time). */
export async function allSignatures(store: Store, page = 5000): Promise<StoredSignature[]> {
  const out: StoredSignature[] = [];
  for (let after = 0; ; ) {
    const p = await store.signaturesPage(after, page);
    if (!p.length) return out;
    out.push(...p);
    after = p[p.length - 1]!.id;
  }
}
