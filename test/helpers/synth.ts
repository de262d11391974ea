// Small synthetic dump files written in-test, for cases the real dumps lack:
// snappy pages, old header versions, excluded pages, holes, incomplete
// dumps, PN_XNUM ELF, makedumpfile -E style cut segments.

import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type Compression = 'none' | 'zlib' | 'lzo' | 'snappy';
const FLAG: Record<Compression, number> = { none: 0, zlib: 1, lzo: 2, snappy: 4 };

export function note(name: string, type: number, desc: Buffer): Buffer {
  const nameBuf = Buffer.from(name + '\0', 'latin1');
  const pad = (n: number) => (n + 3) & ~3;
  const out = Buffer.alloc(12 + pad(nameBuf.length) + pad(desc.length));
  out.writeUInt32LE(nameBuf.length, 0);
  out.writeUInt32LE(desc.length, 4);
  out.writeUInt32LE(type, 8);
  nameBuf.copy(out, 12);
  desc.copy(out, 12 + pad(nameBuf.length));
  return out;
}

export function compressPage(page: Buffer, c: Compression): Buffer {
  switch (c) {
    case 'zlib': return zlib.deflateSync(page);
    case 'lzo': return (require('lzo') as { compress(b: Buffer): Buffer }).compress(page);
    case 'snappy': return (require('snappy') as { compressSync(b: Buffer): Buffer }).compressSync(page);
    default: return page;
  }
}

export interface KdumpSpec {
  /** Pages present in the dump, by pfn. */
  pages: Map<number, Buffer>;
  /** Pfns that are RAM (bitmap 1) but not dumped (bitmap 2). */
  excluded?: number[];
  maxMapnr: number;
  compression?: Compression;
  headerVersion?: number;
  vmcoreinfo?: string;
  notes?: Buffer;
  incomplete?: boolean;
  /** Pfns whose descriptor says offset 0 (an incomplete dump's unwritten pages). */
  unwritten?: number[];
  dumpLevel?: number;
}

const BS = 4096;

export function buildKdump(spec: KdumpSpec): Buffer {
  const hv = spec.headerVersion ?? 6;
  const comp = spec.compression ?? 'zlib';
  const notes = spec.notes ?? (spec.vmcoreinfo ? note('VMCOREINFO', 0, Buffer.from(spec.vmcoreinfo)) : Buffer.alloc(0));
  const vmcoreinfo = spec.vmcoreinfo ? Buffer.from(spec.vmcoreinfo) : Buffer.alloc(0);
  // Sub-header block(s): struct (104 bytes), then notes, then bare vmcoreinfo.
  const subLen = 104 + notes.length + vmcoreinfo.length;
  const subBlocks = Math.ceil(subLen / BS);
  const bitmapBytes = Math.ceil(spec.maxMapnr / 8);
  const halfBlocks = Math.ceil(bitmapBytes / BS);
  const bitmapBlocks = halfBlocks * 2;
  const header = Buffer.alloc(BS);
  header.write('KDUMP   ', 0, 'latin1');
  header.writeInt32LE(hv, 8);
  header.write('Linux', 12, 'latin1');
  header.write('x86_64', 12 + 65 * 4, 'latin1');
  header.writeBigInt64LE(1700000000n, 408);
  header.writeUInt32LE(FLAG[comp] | (spec.incomplete ? 0x8 : 0), 424);
  header.writeInt32LE(BS, 428);
  header.writeInt32LE(subBlocks, 432);
  header.writeInt32LE(bitmapBlocks, 436);
  header.writeUInt32LE(spec.maxMapnr, 440);
  header.writeInt32LE(1, 460);

  const sub = Buffer.alloc(subBlocks * BS);
  sub.writeInt32LE(spec.dumpLevel ?? 31, 8);
  const notesOff = BS + 104;
  if (hv >= 4 && notes.length) {
    sub.writeBigUInt64LE(BigInt(notesOff), 48);
    sub.writeBigUInt64LE(BigInt(notes.length), 56);
  }
  if (hv >= 3 && vmcoreinfo.length) {
    sub.writeBigUInt64LE(BigInt(notesOff + notes.length), 32);
    sub.writeBigUInt64LE(BigInt(vmcoreinfo.length), 40);
  }
  if (hv >= 6) sub.writeBigUInt64LE(BigInt(spec.maxMapnr), 96);
  notes.copy(sub, 104);
  vmcoreinfo.copy(sub, 104 + notes.length);

  const bm1 = Buffer.alloc(halfBlocks * BS);
  const bm2 = Buffer.alloc(halfBlocks * BS);
  const set = (b: Buffer, pfn: number) => (b[pfn >> 3] |= 1 << (pfn & 7));
  const pfns = [...spec.pages.keys()].sort((a, b) => a - b);
  for (const p of pfns) {
    set(bm1, p);
    set(bm2, p);
  }
  for (const p of spec.excluded ?? []) set(bm1, p);

  const descStart = (1 + subBlocks + bitmapBlocks) * BS;
  const descs = Buffer.alloc(pfns.length * 24);
  const datas: Buffer[] = [];
  let dataOff = descStart + descs.length;
  pfns.forEach((pfn, i) => {
    const page = spec.pages.get(pfn)!;
    let data = compressPage(page, comp);
    let flags = FLAG[comp];
    if (data.length >= BS) {
      data = page; // stored raw, as makedumpfile and QEMU do when compression does not help
      flags = 0;
    }
    const unwritten = spec.unwritten?.includes(pfn);
    descs.writeBigInt64LE(unwritten ? 0n : BigInt(dataOff), i * 24);
    descs.writeUInt32LE(data.length, i * 24 + 8);
    descs.writeUInt32LE(flags, i * 24 + 12);
    if (!unwritten) {
      datas.push(data);
      dataOff += data.length;
    }
  });
  return Buffer.concat([header, sub, bm1, bm2, descs, ...datas]);
}

/** Rewrite a file in the flattened format, in records of at most `chunk` bytes, optionally out of order. */
export function flatten(file: Buffer, chunk = 3000, shuffle = false): Buffer {
  const head = Buffer.alloc(4096);
  head.write('makedumpfile', 0, 'latin1');
  head.writeBigInt64BE(1n, 16);
  head.writeBigInt64BE(1n, 24);
  const recs: Array<[number, Buffer]> = [];
  for (let off = 0; off < file.length; off += chunk) recs.push([off, file.subarray(off, Math.min(file.length, off + chunk))]);
  if (shuffle) recs.reverse();
  const parts: Buffer[] = [head];
  for (const [off, data] of recs) {
    const h = Buffer.alloc(16);
    h.writeBigInt64BE(BigInt(off), 0);
    h.writeBigInt64BE(BigInt(data.length), 8);
    parts.push(h, data);
  }
  const end = Buffer.alloc(16);
  end.writeBigInt64BE(-1n, 0);
  end.writeBigInt64BE(-1n, 8);
  parts.push(end);
  return Buffer.concat(parts);
}

export interface ElfSpec {
  segments: Array<{ paddr: number; data: Buffer; memsz?: number }>;
  notes?: Buffer;
  /** Write e_phnum = PN_XNUM with the count in section header 0. */
  pnXnum?: boolean;
  incomplete?: boolean;
}

export function buildElf(spec: ElfSpec): Buffer {
  const notes = spec.notes ?? Buffer.alloc(0);
  const phnum = spec.segments.length + 1;
  const ehdr = Buffer.alloc(64);
  ehdr.writeUInt32BE(0x7f454c46, 0);
  ehdr[4] = 2;
  ehdr[5] = 1;
  ehdr[6] = 1;
  ehdr.writeUInt16LE(4, 16); // ET_CORE
  ehdr.writeUInt16LE(62, 18); // EM_X86_64
  ehdr.writeUInt32LE(1, 20);
  ehdr.writeBigUInt64LE(64n, 32); // e_phoff
  ehdr.writeUInt32LE(spec.incomplete ? 1 : 0, 48);
  ehdr.writeUInt16LE(64, 52);
  ehdr.writeUInt16LE(56, 54);
  const phdrs = Buffer.alloc(56 * phnum);
  const shdr = Buffer.alloc(spec.pnXnum ? 64 : 0);
  let off = 64 + phdrs.length + shdr.length;
  if (spec.pnXnum) {
    ehdr.writeUInt16LE(0xffff, 56);
    ehdr.writeBigUInt64LE(BigInt(64 + phdrs.length), 40); // e_shoff
    ehdr.writeUInt16LE(64, 58);
    ehdr.writeUInt16LE(1, 60);
    shdr.writeUInt32LE(phnum, 44); // sh_info
  } else {
    ehdr.writeUInt16LE(phnum, 56);
  }
  // PT_NOTE
  phdrs.writeUInt32LE(4, 0);
  phdrs.writeBigUInt64LE(BigInt(off), 8);
  phdrs.writeBigUInt64LE(BigInt(notes.length), 32);
  phdrs.writeBigUInt64LE(BigInt(notes.length), 40);
  off += notes.length;
  const datas: Buffer[] = [notes];
  spec.segments.forEach((s, i) => {
    const o = 56 * (i + 1);
    phdrs.writeUInt32LE(1, o);
    phdrs.writeBigUInt64LE(BigInt(off), o + 8);
    phdrs.writeBigUInt64LE(BigInt(s.paddr), o + 24);
    phdrs.writeBigUInt64LE(BigInt(s.data.length), o + 32);
    phdrs.writeBigUInt64LE(BigInt(s.memsz ?? s.data.length), o + 40);
    datas.push(s.data);
    off += s.data.length;
  });
  return Buffer.concat([ehdr, phdrs, shdr, ...datas]);
}

/** A page with a recognisable, compressible pattern (the first 256 bytes vary with the seed). */
export function patternPage(seed: number): Buffer {
  const b = Buffer.alloc(BS);
  for (let i = 0; i < 256; i += 4) b.writeUInt32LE((seed * 0x9e3779b1 + i * 7) >>> 0, i);
  for (let i = 256; i < BS; i++) b[i] = (seed + (i >> 8)) & 0xff;
  return b;
}
