// kdump-compressed dumps ("KDUMP   ", and the older "DISKDUMP"), as
// makedumpfile and QEMU write them. Layout (makedumpfile IMPLEMENTATION,
// diskdump_mod.h):
//   block 0                 disk_dump_header (464 bytes on x86_64)
//   block 1                 kdump_sub_header, ELF notes and VMCOREINFO
//   block 1+sub_hdr_size    1st bitmap (pfn is RAM), 2nd bitmap (pfn was dumped)
//   after the bitmaps       page_desc[] {u64 offset; u32 size; u32 flags; u64 page_flags},
//                           one per dumped pfn in pfn order, then page data.
// A pfn's descriptor is found by its rank among the set bits of the 2nd bitmap.

import { CorruptPageError, ExcludedPageError, FormatError, NotInDumpError, TruncatedDumpError } from './errors.js';
import { FORM_MAX, PagedMemory, type PageState } from './memory.js';
import { parseNotes, type Note } from './notes.js';
import type { ByteSource } from './source.js';
import { compressionName, decompressPage } from './decompress.js';

/** disk_dump_header.status bits. */
export const DUMP_DH_COMPRESSED_ZLIB = 0x1;
export const DUMP_DH_COMPRESSED_LZO = 0x2;
export const DUMP_DH_COMPRESSED_SNAPPY = 0x4;
export const DUMP_DH_COMPRESSED_INCOMPLETE = 0x8;
export const DUMP_DH_EXCLUDED_VMEMMAP = 0x10;
export const DUMP_DH_COMPRESSED_ZSTD = 0x20;

const HEADER_SIZE = 464;
const PAGE_DESC_SIZE = 24;
const DESC_CHUNK = 256; // descriptors read and cached together

export function isKdump(head: Buffer): boolean {
  if (head.length < 8) return false;
  const sig = head.subarray(0, 8).toString('latin1');
  return sig === 'KDUMP   ' || sig === 'DISKDUMP';
}

export interface KdumpHeader {
  signature: string;
  headerVersion: number;
  utsname: { sysname: string; nodename: string; release: string; version: string; machine: string; domainname: string };
  timestamp: { sec: number; usec: number };
  status: number;
  blockSize: number;
  subHdrSize: number;
  bitmapBlocks: number;
  maxMapnr: number;
  totalRamBlocks: number;
  deviceBlocks: number;
  writtenBlocks: number;
  currentCpu: number;
  nrCpus: number;
}

export interface KdumpSubHeader {
  physBase: bigint;
  dumpLevel: number;
  split: number;
  startPfn: number;
  endPfn: number;
  offsetVmcoreinfo: number;
  sizeVmcoreinfo: number;
  offsetNote: number;
  sizeNote: number;
  offsetEraseinfo: number;
  sizeEraseinfo: number;
}

const POPCOUNT = new Uint8Array(256);
for (let i = 0; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

function cstr(b: Buffer): string {
  const n = b.indexOf(0);
  return b.subarray(0, n < 0 ? b.length : n).toString('latin1');
}

export class KdumpFile extends PagedMemory {
  readonly header: KdumpHeader;
  readonly subHeader: KdumpSubHeader;
  readonly notes: Note[] = [];
  /** VMCOREINFO text when the file has it outside the notes (header version 3). */
  readonly vmcoreinfoText: string | null = null;
  readonly problems: string[] = [];
  private bitmap1: Buffer;
  private bitmap2: Buffer;
  private rankBase: Uint32Array; // set bits of bitmap2 before each 512-byte block
  private dataOffset: number;
  private descCache = new Map<number, Buffer>();

  constructor(private readonly src: ByteSource, cachePages: number) {
    const h = src.read(0, Math.min(HEADER_SIZE, src.size));
    if (!isKdump(h)) throw new FormatError('not a kdump-compressed file');
    if (h.length < HEADER_SIZE) throw new TruncatedDumpError(h.length, 'kdump header cut short');
    const blockSize = h.readInt32LE(428);
    if (blockSize < 512 || blockSize > 1 << 20 || (blockSize & (blockSize - 1)) !== 0) {
      throw new FormatError(`kdump header: impossible block_size ${blockSize} at offset 428 (big-endian or damaged header)`);
    }
    super(blockSize, cachePages);
    const uts = (i: number) => cstr(h.subarray(12 + 65 * i, 12 + 65 * (i + 1)));
    this.header = {
      signature: h.subarray(0, 8).toString('latin1'),
      headerVersion: h.readInt32LE(8),
      utsname: { sysname: uts(0), nodename: uts(1), release: uts(2), version: uts(3), machine: uts(4), domainname: uts(5) },
      timestamp: { sec: Number(h.readBigInt64LE(408)), usec: Number(h.readBigInt64LE(416)) },
      status: h.readUInt32LE(424),
      blockSize,
      subHdrSize: h.readInt32LE(432),
      bitmapBlocks: h.readInt32LE(436),
      maxMapnr: h.readUInt32LE(440),
      totalRamBlocks: h.readUInt32LE(444),
      deviceBlocks: h.readUInt32LE(448),
      writtenBlocks: h.readUInt32LE(452),
      currentCpu: h.readInt32LE(456),
      nrCpus: h.readInt32LE(460),
    };
    const hv = this.header.headerVersion;
    if (hv < 0 || hv > 64) throw new FormatError(`kdump header: impossible header_version ${hv} at offset 8`);
    if (hv > 6) this.problems.push(`kdump header_version ${hv} is newer than 6; reading it as 6`);
    if (this.header.subHdrSize < 0 || this.header.bitmapBlocks <= 0) {
      throw new FormatError(`kdump header: impossible sub_hdr_size ${this.header.subHdrSize} / bitmap_blocks ${this.header.bitmapBlocks} at offsets 432 / 436`);
    }

    // Sub-header (x86_64 layout); fields appear with header versions 1..6.
    const subLen = Math.min(104, Math.max(0, this.header.subHdrSize * blockSize));
    const sh = subLen > 0 ? src.read(blockSize, subLen) : Buffer.alloc(0);
    const u64 = (o: number, since: number) => (hv >= since && sh.length >= o + 8 ? Number(sh.readBigUInt64LE(o)) : 0);
    this.subHeader = {
      physBase: sh.length >= 8 ? sh.readBigUInt64LE(0) : 0n,
      dumpLevel: hv >= 1 && sh.length >= 12 ? sh.readInt32LE(8) : 0,
      split: hv >= 2 && sh.length >= 16 ? sh.readInt32LE(12) : 0,
      startPfn: u64(16, 2),
      endPfn: u64(24, 2),
      offsetVmcoreinfo: u64(32, 3),
      sizeVmcoreinfo: u64(40, 3),
      offsetNote: u64(48, 4),
      sizeNote: u64(56, 4),
      offsetEraseinfo: u64(64, 5),
      sizeEraseinfo: u64(72, 5),
    };
    if (hv >= 6) {
      const mm64 = u64(96, 6);
      if (mm64) this.header.maxMapnr = mm64;
      const s64 = u64(80, 6);
      const e64 = u64(88, 6);
      if (this.subHeader.split) {
        this.subHeader.startPfn = s64;
        this.subHeader.endPfn = e64;
      }
    }
    if (this.subHeader.split) this.problems.push('split dump: this file holds only part of memory (pfns ' + this.subHeader.startPfn + '..' + this.subHeader.endPfn + ')');

    // Notes (v4+) or a bare VMCOREINFO (v3).
    if (this.subHeader.offsetNote && this.subHeader.sizeNote) {
      try {
        this.notes = parseNotes(src.read(this.subHeader.offsetNote, this.subHeader.sizeNote), this.problems, this.subHeader.offsetNote);
      } catch (e) {
        this.problems.push(`kdump notes: ${(e as Error).message}`);
      }
    } else if (this.subHeader.offsetVmcoreinfo && this.subHeader.sizeVmcoreinfo) {
      try {
        this.vmcoreinfoText = src.read(this.subHeader.offsetVmcoreinfo, this.subHeader.sizeVmcoreinfo).toString('latin1');
      } catch (e) {
        this.problems.push(`kdump VMCOREINFO: ${(e as Error).message}`);
      }
    }

    // Bitmaps: when the area holds two (max_mapnr fits in half of it), the 2nd says what was dumped.
    const bmOffset = blockSize * (1 + this.header.subHdrSize);
    const bmLen = blockSize * this.header.bitmapBlocks;
    const bitmaps = src.read(bmOffset, bmLen);
    if (this.header.maxMapnr <= (bmLen * 8) / 2) {
      this.bitmap1 = bitmaps.subarray(0, bmLen / 2);
      this.bitmap2 = bitmaps.subarray(bmLen / 2);
    } else {
      this.bitmap1 = bitmaps;
      this.bitmap2 = bitmaps;
    }
    const blocks = Math.ceil(this.bitmap2.length / 512);
    this.rankBase = new Uint32Array(blocks + 1);
    let count = 0;
    for (let b = 0; b < blocks; b++) {
      this.rankBase[b] = count;
      const end = Math.min(this.bitmap2.length, (b + 1) * 512);
      for (let i = b * 512; i < end; i++) count += POPCOUNT[this.bitmap2[i]!]!;
    }
    this.rankBase[blocks] = count;
    this.dataOffset = bmOffset + bmLen;
    this.checkTruncation();
  }

  /** Say so at open when the file is shorter than its own descriptors claim. */
  private checkTruncation(): void {
    const n = this.dumpedPages;
    if (n === 0) return;
    const descEnd = this.dataOffset + n * PAGE_DESC_SIZE;
    if (descEnd > this.src.size) {
      this.problems.push(`dump file truncated: page descriptors end at ${descEnd} bytes but the file has ${this.src.size}`);
      return;
    }
    // makedumpfile does not write page data in pfn order, so look at every descriptor.
    let lost = 0;
    try {
      const per = 1 << 16;
      for (let first = 0; first < n; first += per) {
        const cnt = Math.min(per, n - first);
        const b = this.src.read(this.dataOffset + first * PAGE_DESC_SIZE, cnt * PAGE_DESC_SIZE);
        for (let i = 0; i < cnt; i++) {
          const o = i * PAGE_DESC_SIZE;
          const off = b.readUInt32LE(o) + b.readInt32LE(o + 4) * 0x100000000;
          if (off + b.readUInt32LE(o + 8) > this.src.size) lost++;
        }
      }
    } catch (e) {
      this.problems.push(`page descriptors unreadable: ${(e as Error).message}`);
      return;
    }
    if (lost) this.problems.push(`dump file truncated at ${this.src.size} bytes: the data of ${lost} of ${n} dumped pages is missing`);
  }

  get compression(): string {
    return compressionName(this.header.status);
  }
  get incomplete(): boolean {
    return (this.header.status & DUMP_DH_COMPRESSED_INCOMPLETE) !== 0;
  }
  get excludedVmemmap(): boolean {
    return (this.header.status & DUMP_DH_EXCLUDED_VMEMMAP) !== 0;
  }
  /** Number of pages with data in the file. */
  get dumpedPages(): number {
    return this.rankBase[this.rankBase.length - 1]!;
  }

  private bit(bm: Buffer, pfn: number): boolean {
    const byte = pfn >>> 3;
    return byte < bm.length && (bm[byte]! & (1 << (pfn & 7))) !== 0;
  }

  pageState(paddr: number): PageState {
    const pfn = Math.floor(paddr / this.pageSize);
    if (pfn >= this.header.maxMapnr) return 'absent';
    if (this.bit(this.bitmap2, pfn)) return 'present';
    return this.bit(this.bitmap1, pfn) ? 'excluded' : 'absent';
  }

  private rank(pfn: number): number {
    const block = Math.floor(pfn / 4096);
    let r = this.rankBase[block]!;
    const firstByte = block * 512;
    const byte = pfn >>> 3;
    for (let i = firstByte; i < byte; i++) r += POPCOUNT[this.bitmap2[i]!]!;
    const mask = (1 << (pfn & 7)) - 1;
    r += POPCOUNT[this.bitmap2[byte]! & mask]!;
    return r;
  }

  private descriptor(index: number): { offset: number; size: number; flags: number } {
    const chunk = Math.floor(index / DESC_CHUNK);
    let buf = this.descCache.get(chunk);
    if (!buf) {
      const first = chunk * DESC_CHUNK;
      const n = Math.min(DESC_CHUNK, this.dumpedPages - first);
      buf = this.src.read(this.dataOffset + first * PAGE_DESC_SIZE, n * PAGE_DESC_SIZE);
      if (this.descCache.size >= 256) this.descCache.delete(this.descCache.keys().next().value as number);
      this.descCache.set(chunk, buf);
    }
    const o = (index % DESC_CHUNK) * PAGE_DESC_SIZE;
    return { offset: Number(buf.readBigInt64LE(o)), size: buf.readUInt32LE(o + 8), flags: buf.readUInt32LE(o + 12) };
  }

  /** Where page `pfn` is stored in the file (null when not dumped). */
  pageLocation(pfn: number): { offset: number; size: number; flags: number } | null {
    if (this.pageState(pfn * this.pageSize) !== 'present') return null;
    return this.descriptor(this.rank(pfn));
  }

  /** A descriptor that can point at a page's data: past the headers, and no bigger than a page compressed badly. */
  private plausible(d: { offset: number; size: number }): boolean {
    return d.offset > 0 && d.size > 0 && d.size <= this.pageSize * 2;
  }

  storedForm(pfn: number, count: number): Buffer | null {
    const ps = this.pageSize;
    if (!(count > 0) || count * ps > FORM_MAX) return null;
    if (this.subHeader.split && (pfn < this.subHeader.startPfn || pfn + count > this.subHeader.endPfn)) return null;
    try {
      return this.readForm(pfn, count);
    } catch {
      return null; // a damaged descriptor table or a short file: the caller reads the pages instead
    }
  }

  private readForm(pfn: number, count: number): Buffer | null {
    const ps = this.pageSize;
    const offsets: number[] = [];
    const sizes: number[] = [];
    const flags: number[] = [];
    let index = -1;
    for (let i = 0; i < count; i++) {
      if (this.pageState((pfn + i) * ps) !== 'present') return null;
      // A present page's descriptor follows the previous present page's.
      index = index < 0 ? this.rank(pfn) : index + 1;
      const d = this.descriptor(index);
      if (!this.plausible(d) || d.offset + d.size > this.src.size) return null;
      offsets.push(d.offset);
      sizes.push(d.size);
      flags.push(d.flags);
    }
    const total = sizes.reduce((a, b) => a + b, 0);
    const out = Buffer.allocUnsafe(count * 8 + total);
    let at = count * 8;
    for (let i = 0; i < count; i++) {
      out.writeUInt32LE(flags[i]! >>> 0, i * 8);
      out.writeUInt32LE(sizes[i]!, i * 8 + 4);
    }
    // makedumpfile writes pages in pfn order: neighbours' data is usually one piece of the file.
    for (let i = 0; i < count;) {
      let j = i + 1;
      let len = sizes[i]!;
      while (j < count && offsets[j] === offsets[j - 1]! + sizes[j - 1]!) len += sizes[j++]!;
      this.src.read(offsets[i]!, len).copy(out, at);
      at += len;
      i = j;
    }
    return out;
  }

  protected loadPage(pfn: number): Buffer {
    const paddr = pfn * this.pageSize;
    if (this.subHeader.split && (pfn < this.subHeader.startPfn || pfn >= this.subHeader.endPfn)) {
      throw new NotInDumpError(paddr, 'page is in another file of this split dump');
    }
    const state = this.pageState(paddr);
    if (state === 'absent') throw new NotInDumpError(paddr);
    if (state === 'excluded') throw new ExcludedPageError(paddr, `page excluded by makedumpfile (dump_level ${this.subHeader.dumpLevel})`);
    const d = this.descriptor(this.rank(pfn));
    if (d.offset === 0 && this.incomplete) throw new ExcludedPageError(paddr, 'page not written: the dump is incomplete');
    if (!this.plausible(d)) {
      throw new CorruptPageError(paddr, d.offset, `bad page descriptor (size ${d.size}, flags ${d.flags})`);
    }
    const data = this.src.read(d.offset, d.size);
    try {
      return decompressPage(d.flags, data, this.pageSize);
    } catch (e) {
      throw new CorruptPageError(paddr, d.offset, `${compressionName(d.flags)}: ${(e as Error).message}`);
    }
  }

  ranges(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const ps = this.pageSize;
    const n = Math.min(this.header.maxMapnr, this.bitmap1.length * 8);
    let start = -1;
    for (let byte = 0; byte * 8 < n; byte++) {
      const v = this.bitmap1[byte]!;
      if (start < 0 && v === 0) continue;
      if (start >= 0 && v === 0xff) continue;
      for (let bit = 0; bit < 8; bit++) {
        const pfn = byte * 8 + bit;
        if (pfn >= n) break;
        const set = (v & (1 << bit)) !== 0;
        if (set && start < 0) start = pfn;
        else if (!set && start >= 0) {
          out.push([start * ps, pfn * ps]);
          start = -1;
        }
      }
    }
    if (start >= 0) out.push([start * ps, n * ps]);
    return out;
  }
}
