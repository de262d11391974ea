// What a query node remembers of its matches' candidates between matches
// (PgStore.candidates): each candidate signature's row and membership, the
// issues those name, and config values. PostgreSQL announces every change to
// them on the channel `vaat_changes` (triggers, migration 3 of postgres.ts),
// and each notice drops what it names here. Without the cache every match
// was a round trip: the node's CPU per answer fell from about 3.0 to 2.4 ms
// with it, and PostgreSQL's from about 0.8 ms to almost none (bench/fleet.mjs,
// 100 k signatures, 2026-12-07).
//
// It is only as good as the notices, so it is trusted only while they flow
// and the store answers:
// - while the node listens: a connection lost or made again clears it;
// - within TRUST_MS of the last read that reached the store: a node cut off
//   from PostgreSQL stops answering from memory within that, and says so
//   (the service's 503), as it did when every match read the store;
// - a read only fills it when no notice arrived while it was in flight (the
//   epoch): a change committed after the read's snapshot may have been
//   announced, and dropped from here, before the read's rows arrived;
// - what a match takes from here it takes before its read starts: a notice
//   during the read cannot leave a candidate without a membership.

import type { CandidateRows, Membership, StoredSignature, Issue } from './store.js';

type IssueRow = Pick<Issue, 'id' | 'title' | 'status'>;

/** How long after the last read that reached the store the cache may answer alone. */
export const TRUST_MS = 2000;
/** Entries kept per kind; the oldest go first (insertion order). */
const MAX_ENTRIES = 100_000;

/** The channel the store's triggers announce changes on (the payloads: CandidateCache.notice). */
export const CHANGES_CHANNEL = 'vaat_changes';

function put<K, V>(m: Map<K, V>, k: K, v: V): void {
  m.delete(k);
  m.set(k, v);
  if (m.size > MAX_ENTRIES) m.delete(m.keys().next().value as K);
}

export class CandidateCache {
  private readonly sigs = new Map<number, StoredSignature | null>();
  private readonly members = new Map<number, Membership | null>();
  private readonly issues = new Map<number, IssueRow | null>();
  private readonly config = new Map<string, string | null>();
  /** Moves on every notice and every change of the listening connection. */
  epoch = 0;
  /** Matches answered from here alone, and matches that read the store (for /metrics). */
  readonly counts = { remembered: 0, read: 0 };
  private readAt = -Infinity;
  private listening = false;

  /** The listening connection was made (true) or lost (false): nothing remembered before is sure. */
  setListening(on: boolean): void {
    this.listening = on;
    this.clear();
  }

  clear(): void {
    this.epoch++;
    this.sigs.clear();
    this.members.clear();
    this.issues.clear();
    this.config.clear();
  }

  /**
   * A notice on CHANGES_CHANNEL: `m<id>` a signature's membership, `i<id>` an issue, `c<key>` a
   * config value, `s` signature rows (reindexing rewrites them). Anything else clears all.
   */
  notice(payload: string): void {
    this.epoch++;
    const kind = payload[0];
    const rest = payload.slice(1);
    if (kind === 'm') this.members.delete(Number(rest));
    else if (kind === 'i') this.issues.delete(Number(rest));
    else if (kind === 'c') this.config.delete(rest);
    else if (kind === 's') this.sigs.clear();
    else this.clear();
  }

  /** A read that reached the store just answered. */
  reached(now = Date.now()): void {
    this.readAt = now;
  }

  /** Whether the cache may answer now. */
  usable(now = Date.now()): boolean {
    return this.listening && now - this.readAt < TRUST_MS;
  }

  /** The ids whose rows must be read for a match (all of them when the cache may not answer), and whether the config must be. */
  missing(ids: number[], configKey: string, now = Date.now()): { ids: number[]; config: boolean } {
    if (!this.usable(now)) return { ids, config: true };
    const out: number[] = [];
    for (const id of ids) {
      const m = this.members.get(id);
      if (!this.sigs.has(id) || m === undefined || (m !== null && !this.issues.has(m.issueId))) out.push(id);
    }
    return { ids: out, config: !this.config.has(configKey) };
  }

  /** Remember what a read returned for `ids` (absent ones as absent), unless a notice arrived since `epoch`. */
  fill(epoch: number, ids: number[], configKey: string, rawConfig: string | null, rows: CandidateRows): void {
    if (epoch !== this.epoch || !this.listening) return;
    for (const id of ids) {
      put(this.sigs, id, rows.signatures?.get(id) ?? null);
      const m = rows.members.get(id) ?? null;
      put(this.members, id, m);
      if (m) put(this.issues, m.issueId, rows.issues.get(m.issueId) ?? null);
    }
    put(this.config, configKey, rawConfig);
  }

  /**
   * What is remembered for `ids` (all of them present: those `missing` did not name), taken before
   * the read of the others starts, so that a notice arriving during that read cannot take a
   * candidate out of this answer. `config`: the raw config value, when remembered.
   */
  remembered(ids: number[], configKey: string): { rows: CandidateRows; config: string | null | undefined } {
    const signatures = new Map<number, StoredSignature>();
    const rows: CandidateRows = { members: new Map(), issues: new Map(), signatures, config: null };
    for (const id of ids) {
      const s = this.sigs.get(id);
      if (s) signatures.set(id, s);
      const m = this.members.get(id);
      if (!m) continue;
      rows.members.set(id, m);
      const i = this.issues.get(m.issueId);
      if (i) rows.issues.set(m.issueId, i);
    }
    return { rows, config: this.config.has(configKey) ? this.config.get(configKey)! : undefined };
  }
}

/** Rows remembered and rows read just now, as one answer; the config value parsed once, from whichever holds it. */
export function joinRows(a: CandidateRows, b: CandidateRows | null, config: string | null): CandidateRows {
  const out: CandidateRows = { members: new Map(a.members), issues: new Map(a.issues), signatures: new Map(a.signatures ?? []), config: config ? JSON.parse(config) : null };
  if (b) {
    for (const [k, v] of b.members) out.members.set(k, v);
    for (const [k, v] of b.issues) out.issues.set(k, v);
    for (const [k, v] of b.signatures ?? []) out.signatures!.set(k, v);
  }
  return out;
}
