// kallsyms decoded from the dump itself. From 6.0 VMCOREINFO names the
// tables (kallsyms_names, _num_syms, _token_table, _token_index, _offsets,
// _relative_base). Each name is a length byte — two bytes when bit 7 is set,
// since 6.1 ("big" symbols, commit 73bbb94466fd3) — then token indices; the
// first decoded character is the nm type letter. Addresses are 32-bit
// offsets decoded one of several ways; like drgn and makedumpfile we pick
// the way that reproduces SYMBOL(_stext).
//
// The decoded names stay in one latin1 buffer ("Tname\n" per symbol) with a
// hash index over it: no 94k JS strings are made unless asked for.

import { ProgramError } from './problems.js';
import { ContentCache } from '../util/contentcache.js';

export interface KallsymsTables {
  names: bigint;
  numSyms: bigint;
  tokenTable: bigint;
  tokenIndex: bigint;
  offsets?: bigint;
  relativeBase?: bigint;
  addresses?: bigint;
}

export type AddressEncoding = 'absolute' | 'base-relative' | 'absolute-percpu' | 'place-relative';

export interface SymbolEntry {
  name: string;
  type: string; // nm letter
  address: bigint;
  size: number;
  module?: string;
}

// Addresses are kept as doubles: kernel addresses (0xffff8...) minus
// 0xffff000000000000 (plus 2^48) and small absolute values (per-CPU offsets)
// both fit in 53 bits and keep their order, so sorting and searching avoid bigint.
const HIGH = 0xffff000000000000n;
export function addrKey(a: bigint): number {
  return a >= HIGH ? Number(a - HIGH) + 2 ** 48 : Number(a);
}
export function keyAddr(k: number): bigint {
  return k >= 2 ** 48 ? BigInt(k - 2 ** 48) + HIGH : BigInt(k);
}

function fnv(buf: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) {
    h ^= buf[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class SymbolTable {
  readonly count: number;
  private starts: Int32Array; // line i is text[starts[i] .. starts[i+1]-1): type letter, name, '\n'
  private hash: Int32Array | null = null; // open addressing: symbol index + 1, 0 = empty
  private sorted: Uint32Array; // indices ordered by address
  private sortedKeys: Float64Array;

  /**
   * @param text  "Tname\n" for every symbol, in kallsyms order
   * @param keys  addrKey() of each symbol's address
   */
  constructor(
    private readonly text: Buffer,
    readonly keys: Float64Array,
    readonly encoding: AddressEncoding,
    readonly longNames: boolean,
    reuse?: SymbolTable,
  ) {
    this.count = keys.length;
    if (reuse && reuse.text === text) {
      this.starts = reuse.starts;
      this.hash = reuse.hash;
    } else {
      const starts = new Int32Array(this.count + 1);
      let p = 0;
      for (let i = 0; i < this.count; i++) {
        starts[i] = p;
        const nl = text.indexOf(10, p);
        p = nl < 0 ? text.length : nl + 1;
      }
      starts[this.count] = p;
      this.starts = starts;
    }
    const idx = new Uint32Array(this.count);
    for (let i = 0; i < this.count; i++) idx[i] = i;
    let inOrder = true;
    for (let i = 1; i < keys.length && inOrder; i++) if (keys[i]! < keys[i - 1]!) inOrder = false;
    if (!inOrder) idx.sort((a, b) => keys[a]! - keys[b]! || a - b);
    this.sorted = idx;
    this.sortedKeys = new Float64Array(this.count);
    for (let i = 0; i < this.count; i++) this.sortedKeys[i] = keys[idx[i]!]!;
  }

  name(i: number): string {
    return this.text.toString('latin1', this.starts[i]! + 1, this.starts[i + 1]! - 1);
  }

  type(i: number): string {
    return String.fromCharCode(this.text[this.starts[i]!]!);
  }

  private buildHash(): Int32Array {
    const size = 1 << Math.ceil(Math.log2(this.count * 2 + 2));
    const h = new Int32Array(size);
    const mask = size - 1;
    // Insert in reverse so that, for duplicate names, the first symbol ends up found first.
    for (let i = 0; i < this.count; i++) {
      let slot = fnv(this.text, this.starts[i]! + 1, this.starts[i + 1]! - 1) & mask;
      while (h[slot] !== 0) slot = (slot + 1) & mask;
      h[slot] = i + 1;
    }
    return h;
  }

  /** Index of the first symbol with this name. */
  index(name: string): number | undefined {
    this.hash ??= this.buildHash();
    const q = Buffer.from(name, 'latin1');
    const mask = this.hash.length - 1;
    let slot = fnv(q, 0, q.length) & mask;
    for (;;) {
      const v = this.hash[slot]!;
      if (v === 0) return undefined;
      const i = v - 1;
      const s = this.starts[i]! + 1;
      const e = this.starts[i + 1]! - 1;
      if (e - s === q.length && this.text.compare(q, 0, q.length, s, e) === 0) return i;
      slot = (slot + 1) & mask;
    }
  }

  lookup(name: string): SymbolEntry | undefined {
    const i = this.index(name);
    return i === undefined ? undefined : this.entry(i);
  }

  address(name: string): bigint | undefined {
    const i = this.index(name);
    return i === undefined ? undefined : keyAddr(this.keys[i]!);
  }

  entry(i: number): SymbolEntry {
    return { name: this.name(i), type: this.type(i), address: keyAddr(this.keys[i]!), size: this.sizeOf(i) };
  }

  /** First sorted position whose key is greater than k. */
  private upper(k: number): number {
    let lo = 0;
    let hi = this.sortedKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sortedKeys[mid]! <= k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Distance to the next higher address (as the kernel's kallsyms_lookup_size_offset does). */
  private sizeOf(i: number): number {
    const k = this.keys[i]!;
    const lo = this.upper(k);
    if (lo >= this.sortedKeys.length) return 0;
    const d = this.sortedKeys[lo]! - k;
    return d > 0x100000 ? 0 : d;
  }

  /**
   * The symbol containing `addr`: the last one at or below it; among
   * symbols sharing an address, the first in kallsyms order (as %pS does).
   */
  symbolize(addr: bigint, textOnly = false): { entry: SymbolEntry; offset: number } | undefined {
    const key = addrKey(addr);
    const k = this.upper(key) - 1;
    if (k < 0) return undefined;
    const at = this.sortedKeys[k]!;
    let best = -1;
    for (let j = k; j >= 0 && this.sortedKeys[j] === at; j--) {
      const i = this.sorted[j]!;
      const t = this.text[this.starts[i]!]!;
      if (t === 0x41 || t === 0x61) continue; // 'A', 'a': absolute (per-CPU offsets)
      if (textOnly && t !== 0x54 && t !== 0x74 && t !== 0x57 && t !== 0x77) continue;
      best = i;
    }
    if (best < 0) return undefined;
    const e = this.entry(best);
    const offset = key - at;
    if (e.size === 0 && offset !== 0) return undefined;
    if (e.size && offset >= e.size) return undefined;
    return { entry: e, offset };
  }

  *entries(): IterableIterator<SymbolEntry> {
    for (let i = 0; i < this.count; i++) yield this.entry(i);
  }
}

type ReadFn = (va: bigint, len: number) => Buffer;
/** Program.storedKey: parts equal for two dumps only when the bytes at [va, va + len) are; null when none is cheaper than the bytes. */
export type StoredKeyFn = (va: bigint, len: number) => Buffer[] | null;

/** What a build's kallsyms tables decode to, independent of where its kernel was loaded. */
interface KallsymsContent {
  text: Buffer;
  table: SymbolTable;
  /** kallsyms_offsets' bytes (null for a kernel with kallsyms_addresses). */
  offsets: Buffer | null;
}

/**
 * Decode the whole kallsyms table. `stext` is SYMBOL(_stext) from VMCOREINFO, used to pick the
 * address encoding. With `storedKey`, the names and offsets (about 2 MB on 6.1) are looked up by
 * their stored form before they are read: every dump of a build carries the same ones.
 */
export function loadKallsyms(read: ReadFn, t: KallsymsTables, stext: bigint | undefined, osrelease?: string, storedKey?: StoredKeyFn): SymbolTable {
  const num = read(t.numSyms, 4).readUInt32LE(0);
  if (num === 0 || num > 4_000_000) throw new ProgramError(`kallsyms: implausible kallsyms_num_syms ${num}`);
  const tokenIndex = read(t.tokenIndex, 512);
  let maxIdx = 0;
  for (let i = 0; i < 256; i++) maxIdx = Math.max(maxIdx, tokenIndex.readUInt16LE(i * 2));
  const tokenTable = read(t.tokenTable, maxIdx + 256);
  const tokens: Buffer[] = [];
  for (let i = 0; i < 256; i++) {
    const s = tokenIndex.readUInt16LE(i * 2);
    const e = tokenTable.indexOf(0, s);
    tokens.push(tokenTable.subarray(s, e < 0 ? tokenTable.length : e));
  }
  const countBytes = Buffer.alloc(4);
  countBytes.writeUInt32LE(num);

  // In the image kallsyms_names is followed by kallsyms_markers and then the
  // token table (scripts/kallsyms.c output order): read it in one piece when
  // that holds, else chunk by chunk.
  const namesLen = t.tokenTable > t.names && t.tokenTable - t.names < 64n << 20n ? Number(t.tokenTable - t.names) : null;
  const relative = t.offsets !== undefined && t.relativeBase !== undefined;
  const readContent = (): KallsymsContent => {
    let names: Buffer | null = null;
    if (namesLen !== null) {
      try {
        names = read(t.names, namesLen);
      } catch {
        names = null;
      }
    }
    names ??= readUntilFailure(read, t.names, 64 << 20);
    // The names decoded (and their name index) by content: the same build's dumps share them.
    const decoded = NAMES_CACHE.get([countBytes, tokenIndex, tokenTable, names], () => decodeNames(names!, tokens, num, osrelease));
    return { ...decoded, offsets: relative ? Buffer.from(read(t.offsets!, num * 4)) : null };
  };
  let form: Buffer[] | null = null;
  if (storedKey && namesLen !== null) {
    try {
      const n = storedKey(t.names, namesLen);
      const o = relative ? storedKey(t.offsets!, num * 4) : [];
      // R or A: whether the entry holds offsets (relative addresses) or not (absolute ones).
      if (n && o) form = [countBytes, tokenIndex, tokenTable, ...n, Buffer.from(relative ? 'R' : 'A'), ...o];
    } catch {
      form = null; // the reads below meet the same fault and report it
    }
  }
  const { text, table, offsets } = form ? CONTENT_BY_FORM.get(form, readContent) : readContent();
  const stextIdx = table.index('_stext') ?? -1;

  const keys = new Float64Array(num);
  let encoding: AddressEncoding;
  if (t.offsets !== undefined && t.relativeBase !== undefined) {
    const offs = offsets!;
    const base = read(t.relativeBase, 8).readBigUInt64LE(0);
    const baseKey = addrKey(base);
    const tableKey = addrKey(t.offsets);
    // Each candidate yields addrKey(address) of symbol i.
    const candidates: Array<[AddressEncoding, (i: number) => number]> = [
      ['absolute-percpu', (i) => {
        const o = offs.readInt32LE(i * 4);
        return o >= 0 ? o : baseKey - 1 - o;
      }],
      ['base-relative', (i) => baseKey + offs.readUInt32LE(i * 4)],
      ['place-relative', (i) => tableKey + i * 4 + offs.readInt32LE(i * 4)],
    ];
    let chosen = candidates[0]!;
    if (stext !== undefined && stextIdx >= 0) {
      const ok = candidates.find(([, f]) => f(stextIdx) === addrKey(stext));
      if (!ok) throw new ProgramError('kallsyms: no address encoding reproduces SYMBOL(_stext)');
      chosen = ok;
    }
    encoding = chosen[0];
    for (let i = 0; i < num; i++) keys[i] = chosen[1](i);
  } else if (t.addresses !== undefined) {
    const raw = read(t.addresses, num * 8);
    for (let i = 0; i < num; i++) keys[i] = addrKey(raw.readBigUInt64LE(i * 8));
    encoding = 'absolute';
  } else {
    throw new ProgramError('kallsyms: neither kallsyms_offsets nor kallsyms_addresses is known');
  }
  return new SymbolTable(text, keys, encoding, table.longNames, table);
}

/** Read up to `max` bytes, stopping at the first unreadable page. */
function readUntilFailure(read: ReadFn, base: bigint, max: number): Buffer {
  const pages: Buffer[] = [];
  for (let off = 0; off < max; off += 4096) {
    try {
      pages.push(read(base + BigInt(off), 4096 - Number((base + BigInt(off)) & 0xfffn)));
    } catch {
      break;
    }
  }
  return Buffer.concat(pages);
}

/** Build a table from (name, type, address) triples (System.map, module symbols). */
export function symbolTableFrom(entries: Array<{ name: string; type: string; address: bigint }>): SymbolTable {
  const text = Buffer.from(entries.map((e) => `${e.type}${e.name}\n`).join(''), 'latin1');
  return new SymbolTable(text, Float64Array.from(entries, (e) => addrKey(e.address)), 'absolute', false);
}

/**
 * Decoded kallsyms names ("Tname\n" per symbol) and a table over them with
 * zero addresses whose name index is built (the real tables reuse it).
 */
function decodeNames(names: Buffer, tokens: Buffer[], num: number, osrelease: string | undefined): { text: Buffer; table: SymbolTable } {
  // 6.1 introduced two-byte lengths; guess from the release, verify by decoding.
  const m = /^(\d+)\.(\d+)/.exec(osrelease ?? '');
  const guessLong = m ? Number(m[1]) > 6 || (Number(m[1]) === 6 && Number(m[2]) >= 1) : true;
  const decode = (long: boolean): Buffer | null => {
    const src = names;
    let out = Buffer.allocUnsafe(num * 40);
    let w = 0;
    let p = 0;
    for (let i = 0; i < num; i++) {
      if (p >= src.length) return null;
      let len = src[p++]!;
      if (long && len & 0x80) len = (len & 0x7f) | (src[p++]! << 7);
      if (p + len > src.length) return null;
      if (w + len * 64 + 1 > out.length) {
        const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, w + len * 64 + 1));
        out.copy(bigger, 0, 0, w);
        out = bigger;
      }
      for (let k = 0; k < len; k++) {
        const tok = tokens[src[p + k]!]!;
        for (let q = 0; q < tok.length; q++) out[w++] = tok[q]!;
      }
      p += len;
      out[w++] = 10;
    }
    return out.subarray(0, w);
  };
  let long = guessLong;
  let text = decode(long);
  let table = text && new SymbolTable(text, new Float64Array(num), 'absolute', long);
  if (!table || table.address('_stext') === undefined) {
    long = !long;
    text = decode(long);
    table = text && new SymbolTable(text, new Float64Array(num), 'absolute', long);
  }
  if (!text || !table) throw new ProgramError('kallsyms: names table does not decode');
  table.index('_stext');
  return { text, table };
}

/** Decoded names by the bytes they came from: a few kernel builds at a time. */
const NAMES_CACHE = new ContentCache<{ text: Buffer; table: SymbolTable }>(4);

/**
 * The same, with the offsets' bytes, by the dump's stored form of names and offsets: reading
 * them out of a compressed dump to look them up by content was a quarter of a lab dump's
 * extraction (130 dumps of 6.1.0-56: 3.2 of 12.6 s), most of it decompressing pages. Equal
 * stored forms are equal bytes (Program.storedKey). One build is an entry per compression.
 */
const CONTENT_BY_FORM = new ContentCache<KallsymsContent>(8);
