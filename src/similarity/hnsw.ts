// The HNSW index (hnswlib-node) over the signature vectors: derived from the
// store, never the source of truth. It lives in the store directory as
// index.hnsw plus index.json, which records what it was built from (vector
// layout version, dimension, the last signature it holds) and the file's
// size and sha256. A file that is missing, stale, truncated or altered is
// not read (hnswlib trusts its input): the index is rebuilt from the
// database with a one-line notice. index.ids holds the groups of twins
// (below), checksummed in index.json like the graph. Signatures stored after
// the file was written (by this process or another) are added on open and
// before every decision ("catch-up" by sequence number).
//
// One point per distinct vector. A store of known issues is mostly repeats,
// and repeats of one bug have the same vector; HNSW's neighbour selection
// keeps a new point's link to an identical one and drops the rest (no other
// point is closer to it than its twin is), so a thousand copies of one
// vector end up linked mostly to each other — an island a search may never
// enter (on the 1 M bench of 2026-12-05, where 89 % of vectors had a twin,
// 2 of 92 queries got none of their exact top ten — consistent with such
// islands; the cause was inferred, not traced in the graph). So a vector seen before
// is not inserted again: its signature joins the group of the first one
// with that vector, and a search returns whole groups, best first. Twins are
// found by a 53-bit hash of the vector's bytes, confirmed against the stored
// point.
//
// Space: inner product. Each family's block of the vector has unit length
// times its weight (features/vector.ts), so the inner product of two
// vectors is the weighted sum of per-family cosines over the families both
// have — a console log (panic block only) is compared with a vmcore on the
// panic block alone.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HierarchicalNSW } from 'hnswlib-node';
import { hnswlibAddon } from './hnsw-addon.js';
import type { Store } from './store.js';
import { fileDigest } from '../util/diskcache.js';


export interface IndexParams {
  m: number;
  efConstruction: number;
  efSearch: number;
  seed: number;
}

// M 32 and efSearch 256: at 1 M signatures (bench/hnsw-params.mjs, bench/results/hnsw-params-1000000.json)
// recall@10 against exact search 0.9975 with a search p50 of 0.52 ms; M 16 with efSearch 128 (the
// defaults until 2026-12-05) returned 0.898 of the exact top ten, and needed efSearch 512 for 0.990.
// efConstruction stays 200. 100 was tried (2026-12-06): on the same 1 M synthetic vectors and 200
// queries, with the AVX2 addon (bench/results/hnsw-params-1000000-avx.json), the graph built in
// 329 s instead of 568 s and returned the same share of the exact top ten at efSearch 256 (0.995),
// but on the real syzbot dev set (2,837 reports, `vaat eval --protocol loo`) the candidates of 172
// queries changed and 17 lost their best one (one of them scored 0.74), where 200 gives the same
// candidates with either addon.
export const DEFAULT_INDEX: IndexParams = { m: 32, efConstruction: 200, efSearch: 256, seed: 100 };

interface Sidecar {
  /** 2: one point per distinct vector, the groups in index.ids (format 1 inserted every vector and kept no keys). */
  format: 1 | 2;
  vectorVersion: number;
  dimension: number;
  /** The highest signature sequence number in the file. */
  seq: number;
  /** Signatures held; `points` of them are points of the graph, the rest are in a twin's group. */
  count: number;
  points: number;
  bytes: number;
  sha256: string;
  /** index.ids: the key of every point and the group of every other signature. */
  idsBytes: number;
  idsSha256: string;
  params: IndexParams;
}

/** A 53-bit hash of a vector's bytes (two FNV-1a lanes): the key twins are looked up by. */
function vectorKey(v: Float32Array): number {
  const w = new Uint32Array(v.buffer, v.byteOffset, v.length);
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < w.length; i++) {
    a = Math.imul(a ^ w[i]!, 0x01000193) >>> 0;
    b = Math.imul(b ^ w[i]!, 0x5bd1e995) >>> 0;
  }
  return a * 0x200000 + (b & 0x1fffff);
}

/**
 * Push a file's (or a directory's) written pages to the disk now. A save syncs
 * before it renames: a crash then leaves the old index or the new one, and the
 * write of a few hundred megabytes is paid by the save, not by whatever the
 * machine does when the kernel writes dirty pages back 30 s later (a 250 MB
 * writeback landed inside bench/fleet.mjs's measured run; the stall it seemed to
 * cause there turned out to be the PostgreSQL pool's, see postgres.ts).
 */
function syncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * hnswlib's saveIndex writes through an ofstream and checks nothing: on a full disk it leaves a short
 * file and says nothing, and its sidecar would then vouch for it. So the file is walked as hnswlib
 * lays it out (hnswalg.h, hnswlib 0.7–0.8): a 96-byte header (offsetLevel0, max_elements, element
 * count, bytes per element, label offset, data offset as 8-byte words; max level and entry point as
 * 4; maxM, maxM0, M as 8; mult, a double; ef_construction, 8), every element's level-0 block, then
 * per element a 4-byte size and that many bytes of upper-level links. The walk must end exactly at
 * the file's end with the expected element count.
 */
export function checkHnswFile(file: string, count: number): string | null {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(96);
    if (fs.readSync(fd, head, 0, 96, 0) < 96) return `${size} bytes: shorter than hnswlib's header`;
    const n = Number(head.readBigUInt64LE(16));
    const perElement = Number(head.readBigUInt64LE(24));
    if (n !== count) return `holds ${n} elements, ${count} were written`;
    const level0End = 96 + n * perElement;
    if (level0End > size) return `${size} bytes, its elements alone need ${level0End} (written short: disk full?)`;
    const rest = Buffer.alloc(size - level0End);
    for (let got = 0; got < rest.length; ) {
      const r = fs.readSync(fd, rest, got, rest.length - got, level0End + got);
      if (r <= 0) return 'could not be read back';
      got += r;
    }
    let pos = 0;
    for (let i = 0; i < n; i++) {
      if (pos + 4 > rest.length) return `ends inside element ${i}'s links of ${n} (written short: disk full?)`;
      pos += 4 + rest.readUInt32LE(pos);
    }
    if (pos !== rest.length) return pos > rest.length ? `ends inside the last element's links (written short: disk full?)` : `${rest.length - pos} bytes past its last element`;
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Read every signature stored after `seq()` in sequence order and hand each to `add` (which moves
 * `seq()` on), then to `onAdded`; the ids taken, with their sequence numbers. Shared by the HNSW
 * index and a node's record of what it took in when another node's index answers its searches
 * (remote-index.ts).
 */
export async function catchUpFrom(store: Store, seq: () => number, add: (id: number, vector: Float32Array, seq: number) => void, onAdded?: (id: number, seq: number, vector: Float32Array) => void): Promise<Array<{ id: number; seq: number }>> {
  const added: Array<{ id: number; seq: number }> = [];
  const BATCH = 5000;
  for (;;) {
    const rows = await store.vectorsAfter(seq(), BATCH);
    for (const r of rows) {
      add(r.id, r.vector, r.seq);
      added.push({ id: r.id, seq: r.seq });
      onAdded?.(r.id, r.seq, r.vector);
    }
    // A short batch was everything the store held when it was read: asking again would cost a
    // round trip (on PostgreSQL, a writer's or a query node's every catch-up) to learn nothing.
    // What is committed later, the next catch-up takes in.
    if (rows.length < BATCH) return added;
  }
}

export class VectorIndex {
  private hnsw: HierarchicalNSW;
  private capacity: number;
  /** The highest signature sequence number added. */
  seq = 0;
  private dirty = false;
  /** Vector key → the point (the first signature with that vector). */
  private keys = new Map<number, number>();
  /** Point → the later signatures with the same vector, in the order added. */
  private twins = new Map<number, number[]>();
  private count = 0;

  private constructor(readonly dimension: number, readonly params: IndexParams) {
    this.hnsw = new (hnswlibAddon().HierarchicalNSW)('ip', dimension);
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

  /** Signatures held. */
  get size(): number {
    return this.count;
  }

  /** Points of the graph: distinct vectors. */
  get points(): number {
    return this.hnsw.getCurrentCount();
  }

  add(id: number, vector: Float32Array | number[], seq = id): void {
    const v = vector instanceof Float32Array ? vector : Float32Array.from(vector);
    const key = vectorKey(v);
    const twin = this.keys.get(key);
    if (twin !== undefined && this.sameAsPoint(twin, v)) {
      const g = this.twins.get(twin);
      if (g) g.push(id);
      else this.twins.set(twin, [id]);
    } else {
      if (this.points >= this.capacity) {
        this.capacity = Math.max(16, this.capacity * 2);
        this.hnsw.resizeIndex(this.capacity);
      }
      this.hnsw.addPoint(Array.from(v), id);
      // On a hash collision with a different vector the first keeps the key: the second is a point of its own.
      if (twin === undefined) this.keys.set(key, id);
    }
    this.count++;
    if (seq > this.seq) this.seq = seq;
    this.dirty = true;
  }

  private sameAsPoint(point: number, v: Float32Array): boolean {
    const p = this.hnsw.getPoint(point);
    if (p.length !== v.length) return false;
    for (let i = 0; i < v.length; i++) if (Math.fround(p[i]!) !== v[i]) return false;
    return true;
  }

  /**
   * The k nearest stored signatures by inner product, most similar first (ties by id); `filter`
   * keeps only ids it accepts. Twins share their point's similarity and come in the order added.
   */
  search(vector: Float32Array | number[], k: number, filter?: (id: number) => boolean): Array<{ id: number; similarity: number }> {
    const n = Math.min(k, this.points);
    if (n <= 0) return [];
    this.hnsw.setEf(Math.max(this.params.efSearch, n));
    const group = (p: number): number[] => {
      const t = this.twins.get(p);
      return t ? [p, ...t] : [p];
    };
    const r = filter ? this.hnsw.searchKnn(Array.from(vector), n, (p) => filter(p) || (this.twins.get(p)?.some(filter) ?? false)) : this.hnsw.searchKnn(Array.from(vector), n);
    const found = r.neighbors.map((p, i) => ({ p, similarity: 1 - r.distances[i]! }));
    found.sort((a, b) => b.similarity - a.similarity || a.p - b.p);
    const out: Array<{ id: number; similarity: number }> = [];
    for (const f of found) {
      for (const id of group(f.p)) {
        if (out.length >= k) return out;
        if (!filter || filter(id)) out.push({ id, similarity: f.similarity });
      }
    }
    return out;
  }

  /** Add every signature the store holds beyond what this index has; the ids added, with their sequence numbers. */
  catchUp(store: Store, onAdded?: (id: number, seq: number, vector: Float32Array) => void): Promise<Array<{ id: number; seq: number }>> {
    return catchUpFrom(store, () => this.seq, (id, vector, seq) => {
      if (vector.length !== this.dimension) throw new Error(`signature ${id}: vector of ${vector.length} dimensions in a ${this.dimension}-dimension index`);
      this.add(id, vector, seq);
    }, onAdded);
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
    const ids = path.join(dir, 'index.ids');
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
        // Format 1 (before 2026-12-05's groups of twins) had no index.ids: its points are keyed on load.
        const v1 = sc.format === 1;
        if (sc.format !== 2 && !v1) why = `index format ${sc.format} unknown`;
        else if (sc.vectorVersion !== opts.vectorVersion || sc.dimension !== opts.dimension) why = `index built for vector layout ${sc.vectorVersion} (${sc.dimension} dimensions), the store uses ${opts.vectorVersion} (${opts.dimension})`;
        else if (st.size !== sc.bytes) why = `index file is ${st.size} bytes, ${sc.bytes} were written (truncated or replaced)`;
        else if (fileDigest(file) !== sc.sha256) why = 'index file does not match its checksum (corrupt)';
        else if (!v1 && (!fs.existsSync(ids) || fs.statSync(ids).size !== sc.idsBytes || fileDigest(ids) !== sc.idsSha256)) why = 'index groups (index.ids) missing or do not match their checksum';
        else if (sc.seq > (await store.maxSeq())) why = 'index holds signatures the store does not (store replaced?)';
        else {
          // The graph keeps the M it was built with; efSearch is a search-time setting, so the current one applies.
          const built = sc.params ?? params;
          if (built.m !== params.m) opts.notice?.(`index built with M ${built.m}, this vaat uses M ${params.m}: vaat reindex rebuilds it`);
          const loaded = new VectorIndex(opts.dimension, { ...built, efSearch: params.efSearch });
          try {
            loaded.hnsw.readIndexSync(file);
            // hnswlib reads back room for as many elements as were written: none for an index saved
            // empty (a node stopped before anything was stored). add() grows it to at least 16: a
            // doubling of 0 asked hnswlib for room for none, and the first add corrupted the heap.
            loaded.capacity = loaded.hnsw.getMaxElements();
            loaded.hnsw.setEf(loaded.params.efSearch);
            loaded.seq = sc.seq;
            if (v1) {
              loaded.keyPoints();
              loaded.dirty = true;
              opts.notice?.(`index of format 1 converted: its ${loaded.points} points keyed, so that repeats join them from now on (twins it already holds stay separate points until vaat reindex)`);
            } else loaded.readIds(ids);
            if (loaded.points !== (sc.points ?? sc.count) || loaded.size !== sc.count) why = `index holds ${loaded.points} points and ${loaded.size} signatures, ${sc.points ?? sc.count} and ${sc.count} were written`;
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

  /** Key every point from its stored vector (an index of format 1, which kept no keys). */
  private keyPoints(): void {
    for (const p of this.hnsw.getIdsList()) {
      const key = vectorKey(Float32Array.from(this.hnsw.getPoint(p)));
      if (!this.keys.has(key)) this.keys.set(key, p);
    }
    this.count = this.points;
  }

  /** index.ids: [points, twins, (point, key) × points, (signature, point) × twins] as float64. */
  private writeIds(file: string): void {
    let nTwins = 0;
    for (const t of this.twins.values()) nTwins += t.length;
    const a = new Float64Array(2 + 2 * this.keys.size + 2 * nTwins);
    a[0] = this.keys.size;
    a[1] = nTwins;
    let i = 2;
    for (const [key, p] of this.keys) {
      a[i++] = p;
      a[i++] = key;
    }
    for (const [p, t] of this.twins) {
      for (const id of t) {
        a[i++] = id;
        a[i++] = p;
      }
    }
    fs.writeFileSync(file, new Uint8Array(a.buffer));
  }

  private readIds(file: string): void {
    const b = fs.readFileSync(file);
    const a = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length - (b.length % 8)));
    const nKeys = a[0] ?? 0;
    const nTwins = a[1] ?? 0;
    if (a.length !== 2 + 2 * nKeys + 2 * nTwins) throw new Error(`index.ids holds ${a.length} numbers, not 2 + 2 × ${nKeys} + 2 × ${nTwins}`);
    let i = 2;
    for (let k = 0; k < nKeys; k++, i += 2) this.keys.set(a[i + 1]!, a[i]!);
    for (let k = 0; k < nTwins; k++, i += 2) {
      const g = this.twins.get(a[i + 1]!);
      if (g) g.push(a[i]!);
      else this.twins.set(a[i + 1]!, [a[i]!]);
    }
    this.count = this.points + nTwins;
  }

  /** Write the index, its groups and its description, each to a temporary file renamed into place. */
  save(dir: string, vectorVersion: number): void {
    if (!this.dirty && fs.existsSync(path.join(dir, 'index.hnsw'))) return;
    const file = path.join(dir, 'index.hnsw');
    const ids = path.join(dir, 'index.ids');
    const tmp = `${file}.${process.pid}.tmp`;
    const idsTmp = `${ids}.${process.pid}.tmp`;
    const sideTmp = path.join(dir, `index.json.${process.pid}.tmp`);
    try {
      this.hnsw.writeIndexSync(tmp);
      const short = checkHnswFile(tmp, this.hnsw.getCurrentCount());
      if (short) throw Object.assign(new Error(`index not saved: ${tmp} ${short}`), { code: 'EIO' });
      this.writeIds(idsTmp);
      const sc: Sidecar = {
        format: 2, vectorVersion, dimension: this.dimension, seq: this.seq, count: this.size, points: this.points,
        bytes: fs.statSync(tmp).size, sha256: fileDigest(tmp), idsBytes: fs.statSync(idsTmp).size, idsSha256: fileDigest(idsTmp), params: this.params,
      };
      syncPath(tmp);
      syncPath(idsTmp);
      fs.renameSync(tmp, file);
      fs.renameSync(idsTmp, ids);
      fs.writeFileSync(sideTmp, JSON.stringify(sc, null, 1) + '\n');
      syncPath(sideTmp);
      fs.renameSync(sideTmp, path.join(dir, 'index.json'));
      syncPath(dir);
    } catch (e) {
      // Nothing half-written stays behind; the files renamed into place before the failure are
      // whole, and a sidecar that no longer describes them sends the next open to a rebuild.
      for (const t of [tmp, idsTmp, sideTmp]) fs.rmSync(t, { force: true });
      throw e;
    }
    this.dirty = false;
  }
}
