// The row shapes both stores (SQLite, PostgreSQL) read, and their conversion
// to the Store interface's objects: one place for the column list.

import type { StoredSignature, Membership } from './store.js';

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

/** Document frequencies of frames: in how many stacks each occurs, and how many stacks had any. */
export async function countFrames(frames: AsyncIterable<string[]> | Iterable<string[]>): Promise<{ docs: number; counts: Map<string, number> }> {
  const counts = new Map<string, number>();
  let docs = 0;
  for await (const fs_ of frames) {
    if (fs_.length) docs++;
    for (const f of new Set(fs_)) counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  return { docs, counts };
}
