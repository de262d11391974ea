// The HNSW index (hnswlib-node) over the signature vectors: derived from the
// store, never the source of truth. It lives in the store directory as
// index.hnsw plus index.json, which records what it was built from (vector
// layout version, dimension, the last signature it holds) and the file's
// size and sha256. A file that is missing, stale, truncated or altered is
// not read (hnswlib trusts its input): the index is rebuilt from the
// database with a one-line notice. Signatures stored after the file was
// written (by this process or another) are added on open and before every
// decision ("catch-up" by sequence number).
//
// Space: inner product. Each family's block of the vector has unit length
// times its weight (features/vector.ts), so the inner product of two
// vectors is the weighted sum of per-family cosines over the families both
// have — a console log (panic block only) is compared with a vmcore on the
// panic block alone.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import hnswlib from 'hnswlib-node';
import type { Store } from './store.js';

const { HierarchicalNSW } = hnswlib;

export interface IndexParams {
  m: number;
  efConstruction: number;
  efSearch: number;
  seed: number;
}

// M 32 and efSearch 256: at 1 M signatures (bench/hnsw-params.mjs, bench/results/hnsw-params-1000000.json)
// recall@10 against exact search 0.9975 with a search p50 of 0.52 ms; M 16 with efSearch 128 (the
// defaults until 2026-12-05) returned 0.898 of the exact top ten, and needed efSearch 512 for 0.990.
export const DEFAULT_INDEX: IndexParams = { m: 32, efConstruction: 200, efSearch: 256, seed: 100 };

interface Sidecar {
  format: 1;
  vectorVersion: number;
  dimension: number;
  /** The highest signature sequence number in the file. */
  seq: number;
  count: number;
  bytes: number;
  sha256: string;
  params: IndexParams;
}

function fileSha256(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export class VectorIndex {
  private hnsw: InstanceType<typeof HierarchicalNSW>;
  private capacity: number;
  /** The highest signature sequence number added. */
  seq = 0;
  private dirty = false;

  private constructor(readonly dimension: number, readonly params: IndexParams) {
    this.hnsw = new HierarchicalNSW('ip', dimension);
    this.capacity = 0;
  }

  /** An empty in-memory index (evaluation, tests). */
  static empty(dimension: number, params: IndexParams = DEFAULT_INDEX, capacity = 1024): VectorIndex {
    const ix = new VectorIndex(dimension, params);
    ix.init(capacity);
    return ix;
  }

  private init(capacity: number): void {
    this.capacity = Math.max(16, capacity);
    this.hnsw.initIndex({ maxElements: this.capacity, m: this.params.m, efConstruction: this.params.efConstruction, randomSeed: this.params.seed });
    this.hnsw.setEf(this.params.efSearch);
  }

  get size(): number {
    return this.hnsw.getCurrentCount();
  }

  add(id: number, vector: Float32Array | number[], seq = id): void {
    if (this.size >= this.capacity) {
      this.capacity *= 2;
      this.hnsw.resizeIndex(this.capacity);
    }
    this.hnsw.addPoint(Array.from(vector), id);
    if (seq > this.seq) this.seq = seq;
    this.dirty = true;
  }

  /** The k nearest stored signatures by inner product, most similar first; `filter` keeps only ids it accepts. */
  search(vector: Float32Array | number[], k: number, filter?: (id: number) => boolean): Array<{ id: number; similarity: number }> {
    const n = Math.min(k, this.size);
    if (n <= 0) return [];
    this.hnsw.setEf(Math.max(this.params.efSearch, n));
    const r = filter ? this.hnsw.searchKnn(Array.from(vector), n, filter) : this.hnsw.searchKnn(Array.from(vector), n);
    const out = r.neighbors.map((id, i) => ({ id, similarity: 1 - r.distances[i]! }));
    out.sort((a, b) => b.similarity - a.similarity || a.id - b.id);
    return out;
  }

  /** Add every signature the store holds beyond what this index has; the ids added. */
  async catchUp(store: Store): Promise<number[]> {
    const added: number[] = [];
    for (;;) {
      const rows = await store.vectorsAfter(this.seq, 5000);
      if (!rows.length) return added;
      for (const r of rows) {
        if (r.vector.length !== this.dimension) throw new Error(`signature ${r.id}: vector of ${r.vector.length} dimensions in a ${this.dimension}-dimension index`);
        this.add(r.id, r.vector, r.seq);
        added.push(r.id);
      }
    }
  }

  /**
   * The store directory's index: the file when it is intact and built from
   * this vector layout, else rebuilt from the store (`notice` says why);
   * then caught up with the store.
   */
  static async open(store: Store, dir: string, opts: { dimension: number; vectorVersion: number; params?: IndexParams; notice?: (line: string) => void }): Promise<VectorIndex> {
    const params = opts.params ?? DEFAULT_INDEX;
    const file = path.join(dir, 'index.hnsw');
    const side = path.join(dir, 'index.json');
    let why: string | null = null;
    let ix: VectorIndex | null = null;
    if (!fs.existsSync(file) || !fs.existsSync(side)) why = fs.existsSync(file) || fs.existsSync(side) ? 'index file or its description is missing' : null;
    else {
      let sc: Sidecar | null = null;
      try {
        sc = JSON.parse(fs.readFileSync(side, 'utf8')) as Sidecar;
      } catch {
        why = 'index description (index.json) is unreadable';
      }
      if (sc) {
        const st = fs.statSync(file);
        if (sc.format !== 1) why = `index format ${sc.format} unknown`;
        else if (sc.vectorVersion !== opts.vectorVersion || sc.dimension !== opts.dimension) why = `index built for vector layout ${sc.vectorVersion} (${sc.dimension} dimensions), the store uses ${opts.vectorVersion} (${opts.dimension})`;
        else if (st.size !== sc.bytes) why = `index file is ${st.size} bytes, ${sc.bytes} were written (truncated or replaced)`;
        else if (fileSha256(file) !== sc.sha256) why = 'index file does not match its checksum (corrupt)';
        else if (sc.seq > (await store.maxSeq())) why = 'index holds signatures the store does not (store replaced?)';
        else {
          // The graph keeps the M it was built with; efSearch is a search-time setting, so the current one applies.
          const built = sc.params ?? params;
          if (built.m !== params.m) opts.notice?.(`index built with M ${built.m}, this vaat uses M ${params.m}: vaat reindex rebuilds it`);
          const loaded = new VectorIndex(opts.dimension, { ...built, efSearch: params.efSearch });
          try {
            loaded.hnsw.readIndexSync(file);
            loaded.capacity = loaded.hnsw.getMaxElements();
            loaded.hnsw.setEf(loaded.params.efSearch);
            loaded.seq = sc.seq;
            if (loaded.size !== sc.count) why = `index holds ${loaded.size} points, ${sc.count} were written`;
            else ix = loaded;
          } catch (e) {
            why = `index file cannot be read: ${(e as Error).message}`;
          }
        }
      }
    }
    if (!ix) {
      const count = await store.count();
      if (why || count > 0) opts.notice?.(`index ${why ? `not used (${why})` : 'missing'}: rebuilding it from the store's ${count} signatures`);
      ix = VectorIndex.empty(opts.dimension, params, Math.max(1024, Math.ceil(count * 1.25)));
      ix.dirty = true;
    }
    await ix.catchUp(store);
    return ix;
  }

  /** Write the index and its description, each to a temporary file renamed into place. */
  save(dir: string, vectorVersion: number): void {
    if (!this.dirty && fs.existsSync(path.join(dir, 'index.hnsw'))) return;
    const file = path.join(dir, 'index.hnsw');
    const tmp = `${file}.${process.pid}.tmp`;
    this.hnsw.writeIndexSync(tmp);
    const sc: Sidecar = {
      format: 1, vectorVersion, dimension: this.dimension, seq: this.seq, count: this.size,
      bytes: fs.statSync(tmp).size, sha256: fileSha256(tmp), params: this.params,
    };
    fs.renameSync(tmp, file);
    const sideTmp = path.join(dir, `index.json.${process.pid}.tmp`);
    fs.writeFileSync(sideTmp, JSON.stringify(sc, null, 1) + '\n');
    fs.renameSync(sideTmp, path.join(dir, 'index.json'));
    this.dirty = false;
  }
}
