// The flattened format (makedumpfile -F, QEMU dump-guest-memory kdump-*):
// a 4 KiB header ("makedumpfile", type 1, version 1, big-endian), then
// records {int64 offset; int64 size} + data, each saying where its bytes sit
// in the real file; offset = size = -1 ends it (makedumpfile IMPLEMENTATION).
// We index the record headers once and serve reads of the real file from
// the records in place, as libkdumpfile and crash do: no rewrite to disk.

import { FormatError, TruncatedDumpError } from './errors.js';
import { checkRead, type ByteSource } from './source.js';

export const FLAT_SIGNATURE = 'makedumpfile';
const FLAT_HEADER_SIZE = 4096;
const RECORD_HEADER_SIZE = 16;

export function isFlattened(head: Buffer): boolean {
  return head.length >= 16 && head.subarray(0, 12).toString('latin1') === FLAT_SIGNATURE && head[12] === 0;
}

export class FlattenedSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  /** Problems met while indexing (a file cut short inside a record, no end marker). */
  readonly problems: string[] = [];
  // Records sorted by their offset in the real file.
  private starts: Float64Array;
  private ends: Float64Array;
  private fileOffsets: Float64Array;
  private order: Uint32Array; // position of the record in the flattened file (later records win)
  private maxEndPrefix: Float64Array;

  constructor(private readonly inner: ByteSource) {
    this.name = inner.name;
    const head = inner.read(0, 32);
    if (!isFlattened(head)) throw new FormatError('not a flattened dump');
    const type = Number(head.readBigInt64BE(16));
    const version = Number(head.readBigInt64BE(24));
    if (type !== 1) throw new FormatError(`flattened dump: unknown header type ${type}`);
    if (version !== 1) this.problems.push(`flattened dump: unexpected version ${version}`);

    const recs: Array<[number, number, number]> = []; // [realOffset, size, flatOffset]
    let pos = FLAT_HEADER_SIZE;
    let sawEnd = false;
    const chunkSize = 1 << 20;
    let chunk: Buffer = Buffer.alloc(0);
    let chunkPos = 0;
    const header = (at: number): Buffer | null => {
      if (at + RECORD_HEADER_SIZE > inner.size) return null;
      if (at < chunkPos || at + RECORD_HEADER_SIZE > chunkPos + chunk.length) {
        chunkPos = at;
        chunk = inner.read(at, Math.min(chunkSize, inner.size - at));
      }
      return chunk.subarray(at - chunkPos, at - chunkPos + RECORD_HEADER_SIZE);
    };
    while (true) {
      const h = header(pos);
      if (!h) {
        this.problems.push(`flattened dump truncated: no end marker (file ends at ${inner.size} bytes)`);
        break;
      }
      const off = Number(h.readBigInt64BE(0));
      const size = Number(h.readBigInt64BE(8));
      if (off === -1 && size === -1) {
        sawEnd = true;
        break;
      }
      // makedumpfile writes no empty records: zeros here are a file that was extended and never
      // written (a sparse copy, a full disk), not sixteen bytes at a time of data.
      if (off === 0 && size === 0) {
        this.problems.push(`flattened dump: zero-filled from file offset ${pos} to the end (no end marker)`);
        break;
      }
      if (off < 0 || size < 0 || !Number.isSafeInteger(off + size)) {
        this.problems.push(`flattened dump: bad record header at file offset ${pos}`);
        break;
      }
      const dataAt = pos + RECORD_HEADER_SIZE;
      if (dataAt + size > inner.size) {
        // Keep what is there: the tail of this record is lost.
        const avail = inner.size - dataAt;
        if (avail > 0) recs.push([off, avail, dataAt]);
        this.problems.push(`flattened dump truncated inside the record at file offset ${pos}`);
        break;
      }
      if (size > 0) recs.push([off, size, dataAt]);
      pos = dataAt + size;
    }
    void sawEnd;
    const idx = recs.map((_, i) => i).sort((a, b) => recs[a]![0] - recs[b]![0] || a - b);
    const n = idx.length;
    this.starts = new Float64Array(n);
    this.ends = new Float64Array(n);
    this.fileOffsets = new Float64Array(n);
    this.order = new Uint32Array(n);
    this.maxEndPrefix = new Float64Array(n);
    let size = 0;
    let maxEnd = 0;
    for (let k = 0; k < n; k++) {
      const r = recs[idx[k]!]!;
      this.starts[k] = r[0];
      this.ends[k] = r[0] + r[1];
      this.fileOffsets[k] = r[2];
      this.order[k] = idx[k]!;
      maxEnd = Math.max(maxEnd, r[0] + r[1]);
      this.maxEndPrefix[k] = maxEnd;
      size = Math.max(size, r[0] + r[1]);
    }
    this.size = size;
  }

  get recordCount(): number {
    return this.starts.length;
  }

  read(offset: number, length: number): Buffer {
    checkRead(this.name, this.size, offset, length);
    const end = offset + length;
    // Last record starting before `end`.
    let lo = 0;
    let hi = this.starts.length - 1;
    let last = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < end) {
        last = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Fast path: one record covers the whole range and no other overlaps it.
    if (last >= 0 && this.starts[last]! <= offset && this.ends[last]! >= end && (last === 0 || this.maxEndPrefix[last - 1]! <= offset)) {
      return this.inner.read(this.fileOffsets[last]! + (offset - this.starts[last]!), length);
    }
    const hits: number[] = [];
    for (let k = last; k >= 0 && this.maxEndPrefix[k]! > offset; k--) {
      if (this.ends[k]! > offset) hits.push(k);
    }
    if (hits.length === 0) throw new TruncatedDumpError(offset, 'no record of the flattened dump holds this offset');
    hits.sort((a, b) => this.order[a]! - this.order[b]!);
    const out = Buffer.alloc(length);
    const covered = new Uint8Array(length);
    for (const k of hits) {
      const s = Math.max(offset, this.starts[k]!);
      const e = Math.min(end, this.ends[k]!);
      const bytes = this.inner.read(this.fileOffsets[k]! + (s - this.starts[k]!), e - s);
      bytes.copy(out, s - offset);
      covered.fill(1, s - offset, e - offset);
    }
    const gap = covered.indexOf(0);
    if (gap >= 0) throw new TruncatedDumpError(offset + gap, 'no record of the flattened dump holds this offset');
    return out;
  }

  close(): void {
    this.inner.close();
  }
}
