// A node's index when another node's index answers its searches: a fleet
// worker asking the service (`vaat worker --candidates URL`). An HNSW index
// per worker costs every worker the whole store's vectors in memory (2.45 KB
// a signature: ≈ 245 MB at 100 k, ≈ 2.4 GB at 1 M), a rebuild from the store
// when it starts without an index file (93–104 s at 100 k on the bench's
// machine), and an insert of every signature the fleet stores. Here the
// worker keeps no graph, only the sequence number of what it has taken in:
// its catch-ups read the signatures stored since (their vectors, for the
// engine's re-scoring of what was stored after the answering index's state:
// Engine.rankSince), never the history.

import type { Store } from './store.js';
import { catchUpFrom } from './hnsw.js';
import { StoreError } from './store.js';

export interface Nearest {
  /** The highest sequence number the answering index had taken in. */
  seq: number;
  /** Which store the answering index was built from (its creation time): a node asking checks it is its own. */
  store?: string | null;
  candidates: Array<{ id: number; similarity: number }>;
}

/** Where a remote index's searches are answered. */
export interface CandidateSource {
  /** What to call it in messages (a URL). */
  readonly name: string;
  /** The k nearest stored signatures by inner product, most similar first; rejects with CandidatesUnavailable when it cannot answer now. */
  search(vector: Float32Array, k: number): Promise<Nearest>;
}

/** Why an answer is not for this node's store (created `own`), or null when it is: another store's ids would be scored as this one's signatures. */
export function otherStore(answer: Nearest, own: string | null, source: string): string | null {
  return answer.store === own ? null : `candidate service ${source} answers for the store created ${answer.store ?? '(not said)'}, this node's was created ${own}`;
}

/** The candidate source cannot answer for now (down, overloaded, too far behind the store): the input should wait and try again, not fail. */
export class CandidatesUnavailable extends StoreError {}

export class RemoteIndex {
  /** The highest signature sequence number taken in. */
  seq: number;
  private taken = 0;

  /** `store`: this node's store's creation time, which every answer must name (Nearest.store). */
  constructor(readonly source: CandidateSource, readonly dimension: number, seq: number, readonly store: string | null) {
    this.seq = seq;
  }

  /** Signatures taken in since this node started (the history is the source's). */
  get size(): number {
    return this.taken;
  }

  add(id: number, vector: Float32Array, seq: number): void {
    if (vector.length !== this.dimension) throw new Error(`signature ${id}: vector of ${vector.length} dimensions, the store's are ${this.dimension}`);
    this.taken++;
    if (seq > this.seq) this.seq = seq;
  }

  catchUp(store: Store, onAdded?: (id: number, seq: number, vector: Float32Array) => void): Promise<Array<{ id: number; seq: number }>> {
    return catchUpFrom(store, () => this.seq, (id, vector, seq) => this.add(id, vector, seq), onAdded);
  }

  async search(vector: Float32Array, k: number): Promise<Nearest> {
    const r = await this.source.search(vector, k);
    // A service moved to another database is waited for (jobs are not failed), and said why.
    const other = otherStore(r, this.store, this.source.name);
    if (other) throw new CandidatesUnavailable(other);
    return r;
  }

  /** No file: the answering node keeps its own. */
  save(): void {}
}
