// The row shapes both stores (SQLite, PostgreSQL) read, and their conversion
// to the Store interface's objects: one place for the column list.

import type { StoredSignature, Membership, IssueNames } from './store.js';

export const SIG_COLS = 'id, hash, kind, path, name, bytes, release, title, crash_kind, ingested_at, vector_version, rules_version';
/** The same columns of the signatures table under the alias `s` (in joins). */
export const SIG_COLS_S = SIG_COLS.split(', ').map((c) => `s.${c}`).join(', ');

export interface SigRow {
  id: number;
  hash: string;
  kind: 'vmcore' | 'console';
  path: string | null;
  name: string;
  bytes: number;
  release: string | null;
  title: string | null;
  crash_kind: string | null;
  ingested_at: string;
  vector_version: number;
  rules_version: string;
}

export function toStored(r: SigRow): StoredSignature {
  return {
    id: r.id, seq: r.id, hash: r.hash, kind: r.kind, path: r.path, name: r.name, bytes: r.bytes, release: r.release,
    title: r.title, crashKind: r.crash_kind, ingestedAt: r.ingested_at, vectorVersion: r.vector_version, rulesVersion: r.rules_version,
  };
}

/** `pending` is 0/1 in SQLite, a boolean in PostgreSQL. */
export interface MemberRow {
  signature_id: number;
  issue_id: number;
  decided_by: 'auto' | 'human';
  score: number | null;
  decided_at: string;
  pending: number | boolean;
}

export function toMembership(r: MemberRow): Membership {
  return { signatureId: r.signature_id, issueId: r.issue_id, decidedBy: r.decided_by, score: r.score, decidedAt: r.decided_at, pending: r.pending === true || r.pending === 1 };
}

export const vectorBytes = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** A copy: the buffer a database driver hands out may not be 4-byte aligned. */
export function bytesVector(b: Buffer): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  Buffer.from(out.buffer).set(b);
  return out;
}

/** Per issue, how many of its evidence members carry each name (Store.rebuildNameCounts). */
export async function countIssueNames(entries: AsyncIterable<IssueNames> | Iterable<IssueNames>): Promise<Map<number, Map<string, number>>> {
  const out = new Map<number, Map<string, number>>();
  for await (const e of entries) {
    let m = out.get(e.issue);
    if (!m) out.set(e.issue, (m = new Map()));
    for (const n of new Set(e.names)) m.set(n, (m.get(n) ?? 0) + 1);
  }
  return out;
}

/**
 * What a membership change does to the per-issue name counts: the issue whose counts lose the
 * signature's names (null: none) and whether the new issue's gain them. A pending member counts
 * nowhere; a member staying where it counted changes nothing.
 */
export function countMoves(old: { issue: number; counted: boolean } | null, next: { issue: number; counted: boolean }): { release: number | null; add: boolean } {
  const same = old !== null && old.issue === next.issue;
  return {
    release: old?.counted && !(same && next.counted) ? old.issue : null,
    add: next.counted && !(same && old!.counted),
  };
}
