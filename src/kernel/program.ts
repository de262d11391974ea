// Program: a kernel as the dump describes it. Opens the dump, finds
// VMCOREINFO, sets up address translation, decodes kallsyms and BTF from the
// dump's own memory (6.0+), and offers typed access to globals, per-CPU
// variables and memory. Older kernels: a System.map (and optionally a raw
// BTF file) supply what VMCOREINFO lacks.

import * as fs from 'node:fs';
import { openDump, type Dump, type OpenOptions } from '../dump/open.js';
import { DumpReadError, ExcludedPageError, hex } from '../dump/errors.js';
import type { PhysicalMemory, PageState } from '../dump/memory.js';
import { X86_64, START_KERNEL_MAP, PageNotMappedError } from '../arch/x86_64.js';
import { VmcoreInfo, scanForVmcoreinfo } from './vmcoreinfo.js';
import { loadKallsyms, symbolTableFrom, SymbolTable, type SymbolEntry } from './kallsyms.js';
import { Btf } from './btf.js';
import { ContentCache } from '../util/contentcache.js';
import { KObject } from './object.js';
import { parseTypeName, TypeNameError } from './typeparse.js';
import { findMember, strip, typeName, type CompoundType, type Member, type Type } from './types.js';
import { dataJson } from '../util/datafile.js';
import { ReadFault } from './problems.js';
import { symbolizeModuleAddress, moduleSymbolAddress } from './modsyms.js';

/**
 * Parsed BTF by content: every dump of one kernel build carries the same
 * __start_BTF..__stop_BTF bytes, and parsing them was 15 % of a dump's
 * extraction (a profile of 130 lab dumps). A Btf is read-only once built
 * (its lazily built types are memoized, never changed), so dumps share it.
 */
const BTF_CACHE = new ContentCache<Btf>(4);

/**
 * The same Btf values found by the dump's stored form of those bytes
 * (Program.storedKey): looking the bytes up by content meant reading them out
 * of the dump first, and reading __start_BTF..__stop_BTF (about 5 MB) was 45 %
 * of a lab dump's extraction (130 dumps of 6.1.0-56: 5.6 of 12.6 s), most of
 * it decompressing pages. Equal stored forms are equal bytes, so a hit here is
 * as exact as one in BTF_CACHE; a miss reads the bytes and asks BTF_CACHE.
 * One build is several entries here (one per compression a dump used); when
 * more builds and compressions arrive interleaved than it holds, a miss costs
 * what every lookup cost before.
 */
const BTF_BY_FORM = new ContentCache<Btf>(8);

/** Tags of storedKey()'s parts: the part that follows is a stored form, or the bytes themselves. */
const TAG_FORM = Buffer.from('F');
const TAG_BYTES = Buffer.from('B');

export interface ProgramOptions extends OpenOptions {
  /** System.map for kernels whose VMCOREINFO has no kallsyms (before 6.0). */
  systemMap?: string;
  /** A raw BTF file (e.g. a copy of /sys/kernel/btf/vmlinux) instead of the dump's own. */
  btf?: string;
  /** Read every excluded page as zeros (crash's --zero_excluded). */
  zeroExcluded?: boolean;
}

/** A fatal problem: the dump cannot be read as a kernel at all. */
export { ProgramError } from './problems.js';
import { ProgramError } from './problems.js';

/** What a kernel release looks like: "6.1.0-56-amd64", "6.12.0-rc7-syzkaller-00216-gf66d6acccbc0". */
const RELEASE = /^\d+\.\d+[A-Za-z0-9_.+~-]{0,64}$/;

/** The most CPUs an x86_64 kernel can be built for (CONFIG_NR_CPUS_RANGE_END). */
export const MAX_CPUS = 8192;

type GlobalSpec = string | { struct: Array<[string, string]> };

/**
 * Excluded pages that were zero. makedumpfile -d 1 drops all-zero pages,
 * and a page of the kernel image (text, data, bss) is excluded only for that
 * reason — it is never page cache, user or free memory — so reading it as
 * zeros is exact.
 */
class ZeroExcludedMemory implements PhysicalMemory {
  imageStart = -1;
  imageEnd = -1;
  constructor(private readonly inner: PhysicalMemory, private readonly zeroLevel: boolean, private readonly all: boolean) {}
  get pageSize() { return this.inner.pageSize; }
  get stats() { return this.inner.stats; }
  // An excluded page has no stored form (null): storedKey() reads it, zeros where they apply.
  storedForm(pfn: number, count: number): Buffer | null { return this.inner.storedForm?.(pfn, count) ?? null; }
  pageState(p: number): PageState { return this.inner.pageState(p); }
  ranges() { return this.inner.ranges(); }
  read(paddr: number, length: number): Buffer {
    try {
      return this.inner.read(paddr, length);
    } catch (e) {
      if (!(e instanceof ExcludedPageError)) throw e;
      const zeroOk = this.all || (this.zeroLevel && paddr >= this.imageStart && paddr + length <= this.imageEnd);
      if (!zeroOk) throw e;
      // Rebuild page by page: only the excluded pages become zeros.
      const out = Buffer.alloc(length);
      const ps = this.pageSize;
      let done = 0;
      while (done < length) {
        const a = paddr + done;
        const n = Math.min(ps - (a % ps), length - done);
        try {
          this.inner.read(a, n).copy(out, done);
        } catch (e2) {
          if (!(e2 instanceof ExcludedPageError)) throw e2;
        }
        done += n;
      }
      return out;
    }
  }
}

export class Program {
  readonly dump: Dump;
  readonly vmcoreinfo: VmcoreInfo;
  /** Where the VMCOREINFO text was read (errors about it name the place). */
  vmcoreinfoWhere = 'VMCOREINFO';
  readonly arch: X86_64;
  /** Symbol source: 'kallsyms' (from the dump) or 'system-map'. */
  readonly symbolSource: 'kallsyms' | 'system-map';
  private _symbols: SymbolTable | null = null;
  private _btf: Btf | null | undefined = undefined;
  private _btfSource = 'none';
  private readonly opts: ProgramOptions;
  /** Problems met while opening; not fatal. */
  readonly problems: string[] = [];
  readonly kernelOffset: bigint;
  private memory: ZeroExcludedMemory;
  private percpuTypes: Map<string, Type> | null = null;
  private globalTypes = new Map<string, Type | null>();
  private _perCpuOffsets: bigint[] | null = null;
  private _nrCpuIds: number | null = null;
  /** Lazily loaded extras (module symbols, ORC, ...) that helpers cache per program. */
  readonly cache = new Map<string, unknown>();

  static open(path: string, opts: ProgramOptions = {}): Program {
    const dump = openDump(path, opts);
    try {
      return new Program(dump, opts);
    } catch (e) {
      dump.close();
      throw e;
    }
  }

  constructor(dump: Dump, opts: ProgramOptions = {}) {
    this.dump = dump;
    this.problems.push(...dump.problems);

    // 1. VMCOREINFO: the note, the kdump v3 copy, or a scan of memory.
    let text: string | null = null;
    const note = dump.notes.find((n) => n.name === 'VMCOREINFO');
    if (note) {
      text = note.desc.toString('latin1').replace(/\0+$/, '');
      this.vmcoreinfoWhere = note.fileOffset !== undefined ? `the VMCOREINFO note at file offset ${note.fileOffset}` : 'the VMCOREINFO note';
      // A note that is there but says nothing is damage, not a hypervisor dump: say so.
      if (!/OSRELEASE=/.test(text)) {
        throw new ProgramError(`${this.vmcoreinfoWhere} (${note.desc.length} bytes) is empty or damaged: no OSRELEASE= in it`);
      }
    }
    if (!text && dump.vmcoreinfoText) {
      text = dump.vmcoreinfoText;
      this.vmcoreinfoWhere = 'the kdump header\'s VMCOREINFO copy';
    }
    if (!text || !text.includes('=')) {
      text = scanForVmcoreinfo(dump.memory.ranges(), (p) => {
        try {
          return dump.memory.read(p, 4096);
        } catch {
          return null;
        }
      });
      if (text) {
        this.problems.push('no VMCOREINFO note in the dump: found VMCOREINFO by scanning memory for OSRELEASE=');
        this.vmcoreinfoWhere = 'VMCOREINFO found in memory';
      }
    }
    if (!text) {
      const mib = dump.memory.ranges().reduce((a, [lo, hi]) => a + (hi - lo), 0) / 2 ** 20;
      throw new ProgramError(`no VMCOREINFO in the dump (none of its ${dump.notes.length} notes, no kdump header copy, no OSRELEASE= page in ${mib.toFixed(0)} MiB of memory from physical address 0): cannot locate the kernel`);
    }
    const vi = new VmcoreInfo(text);
    this.vmcoreinfo = vi;
    if (!vi.osrelease) throw new ProgramError(`VMCOREINFO has no OSRELEASE: it is empty or damaged (${this.vmcoreinfoWhere})`);
    if (!RELEASE.test(vi.osrelease)) this.problems.push(`VMCOREINFO OSRELEASE ${JSON.stringify(vi.osrelease.slice(0, 64))} is not a kernel release (damaged): release unknown`);
    this.kernelOffset = vi.kernelOffset;

    // 2. Address translation.
    const dl = dump.info.dumpLevel ?? 0;
    this.memory = new ZeroExcludedMemory(dump.memory, (dl & 1) !== 0, !!opts.zeroExcluded);
    const swapper = vi.symbol('swapper_pg_dir') ?? vi.symbol('init_top_pgt');
    if (swapper === undefined) throw new ProgramError(`VMCOREINFO has no SYMBOL(swapper_pg_dir): cannot translate addresses (${this.vmcoreinfoWhere})`);
    let physBase = vi.number('phys_base');
    if (physBase === undefined) {
      physBase = dump.info.kdump?.physBase ?? 0n;
      this.problems.push(`VMCOREINFO has no NUMBER(phys_base); using ${hex(physBase)} from the dump header`);
    }
    this.arch = new X86_64(this.memory, {
      physBase: BigInt.asUintN(64, physBase),
      swapperPgDir: swapper,
      level5: vi.number('pgtable_l5_enabled') === 1n,
      smeMask: vi.number('sme_mask') ?? 0n,
    });
    const stext = vi.symbol('_stext');
    if (stext !== undefined) {
      // The image bounds are refined from _end once symbols are known.
      this.memory.imageStart = this.arch.kernelImagePhys(stext) - 0x200000;
      this.memory.imageEnd = this.memory.imageStart + 0x4000000;
    }
    try {
      this.arch.translate(swapper);
    } catch (e) {
      throw new ProgramError(`cannot translate swapper_pg_dir ${hex(swapper)} with phys_base ${hex(physBase)}: ${(e as Error).message}`);
    }

    // 3. Symbols and types are decoded on first use: `log` needs neither.
    this.opts = opts;
    if (vi.get('SYMBOL(kallsyms_names)') !== undefined && !opts.systemMap) {
      // Every table kallsyms needs must be there and readable: a damaged line is named, not decoded as garbage.
      for (const k of ['kallsyms_names', 'kallsyms_num_syms', 'kallsyms_token_table', 'kallsyms_token_index']) {
        if (vi.symbol(k) === undefined) throw new ProgramError(`VMCOREINFO SYMBOL(${k}) is ${vi.get(`SYMBOL(${k})`) === undefined ? 'missing' : `not an address ("${vi.get(`SYMBOL(${k})`)!.slice(0, 40)}")`}: cannot decode kallsyms (pass --system-map; ${this.vmcoreinfoWhere})`);
      }
      this.symbolSource = 'kallsyms';
    }
    else if (opts.systemMap) this.symbolSource = 'system-map';
    else {
      throw new ProgramError(
        `${this.vmcoreinfoWhere} (${vi.osrelease}) has no kallsyms tables (kernels before 6.0): pass --system-map <System.map> (and --btf <file> if the dump's own BTF cannot be found)`,
      );
    }
  }

  /** The kernel's symbols: kallsyms decoded from the dump, or the System.map given. */
  get symbols(): SymbolTable {
    if (this._symbols) return this._symbols;
    const vi = this.vmcoreinfo;
    if (this.symbolSource === 'kallsyms') {
      try {
        this._symbols = loadKallsyms((va, len) => this.read(va, len), {
          names: vi.symbol('kallsyms_names')!,
          numSyms: vi.symbol('kallsyms_num_syms')!,
          tokenTable: vi.symbol('kallsyms_token_table')!,
          tokenIndex: vi.symbol('kallsyms_token_index')!,
          offsets: vi.symbol('kallsyms_offsets'),
          relativeBase: vi.symbol('kallsyms_relative_base'),
          addresses: vi.symbol('kallsyms_addresses'),
        }, vi.symbol('_stext'), vi.osrelease, (va, len) => this.storedKey(va, len));
      } catch (e) {
        throw new ProgramError(`cannot decode kallsyms from the dump (kallsyms_names at ${hex(vi.symbol('kallsyms_names')!)}, per ${this.vmcoreinfoWhere}): ${(e as Error).message}`);
      }
    } else {
      this._symbols = loadSystemMap(this.opts.systemMap!, this.kernelOffset);
    }
    const text0 = this._symbols.address('_text');
    const end = this._symbols.address('_end');
    if (text0 !== undefined && end !== undefined) {
      this.memory.imageStart = this.arch.kernelImagePhys(text0);
      this.memory.imageEnd = this.arch.kernelImagePhys(end);
    }
    return this._symbols;
  }

  /** Type information: a BTF file given by the user, or the dump's own .BTF section; null if neither. */
  get btf(): Btf | null {
    if (this._btf !== undefined) return this._btf;
    let btf: Btf | null = null;
    if (this.opts.btf) {
      btf = new Btf(fs.readFileSync(this.opts.btf));
      this._btfSource = this.opts.btf;
    } else {
      const start = this.symbols.address('__start_BTF');
      const stop = this.symbols.address('__stop_BTF');
      if (start !== undefined && stop !== undefined && stop > start && stop - start < 256n << 20n) {
        try {
          const len = Number(stop - start);
          btf = this.byStoredForm(BTF_BY_FORM, start, len, () => {
            const bytes = this.read(start, len);
            return BTF_CACHE.get([bytes], () => new Btf(bytes));
          });
          this._btfSource = 'dump (__start_BTF..__stop_BTF)';
        } catch (e) {
          this.problems.push(`BTF in the dump unreadable: ${(e as Error).message}`);
        }
      } else {
        this.problems.push('no __start_BTF/__stop_BTF symbols: kernel built without CONFIG_DEBUG_INFO_BTF; pass --btf <file>');
      }
    }
    this._btf = btf;
    return btf;
  }

  /**
   * A key for the bytes at [va, va + length): parts that are equal for two dumps only when those
   * bytes are. Whole pages the container can give in their stored form (a kdump's compressed
   * pages: PhysicalMemory.storedForm; an ELF dump's pages in one read) are given that way, read
   * without decompressing; partial pages at the ends and pages without a stored form are the bytes
   * themselves. null when no page has a stored form: the bytes are then the cheapest key.
   */
  private storedKey(va: bigint, length: number): Buffer[] | null {
    const ps = this.memory.pageSize;
    if (ps !== 4096 || length <= 0) return null;
    const parts: Buffer[] = [];
    let cheaper = false;
    let runVa = 0n;
    let runPfn = -1;
    let runCount = 0;
    const flush = () => {
      if (runCount === 0) return;
      const form = this.memory.storedForm(runPfn, runCount);
      if (form) {
        parts.push(TAG_FORM, form);
        cheaper = true;
      } else parts.push(TAG_BYTES, this.read(runVa, runCount * ps));
      runCount = 0;
    };
    const end = va + BigInt(length);
    for (let a = va; a < end;) {
      const pageStart = a & ~0xfffn;
      const pageEnd = pageStart + 4096n;
      if (a === pageStart && pageEnd <= end) {
        const pfn = this.arch.translate(a) / ps;
        if (runCount > 0 && pfn === runPfn + runCount) runCount++;
        else {
          flush();
          runVa = a;
          runPfn = pfn;
          runCount = 1;
        }
        a = pageEnd;
      } else {
        flush();
        const n = Number((pageEnd < end ? pageEnd : end) - a);
        parts.push(TAG_BYTES, this.read(a, n));
        a += BigInt(n);
      }
    }
    flush();
    return cheaper ? parts : null;
  }

  /**
   * `make()` (which reads and decodes the bytes at [va, va + length)), or the value an earlier
   * dump's make() gave for the same stored form of those bytes. Any failure to build the key
   * leaves the decision to make(), whose errors are the ones callers report.
   */
  private byStoredForm<T>(cache: ContentCache<T>, va: bigint, length: number, make: () => T): T {
    let key: Buffer[] | null = null;
    try {
      key = this.storedKey(va, length);
    } catch {
      key = null;
    }
    return key ? cache.get(key, make) : make();
  }

  get btfSource(): string {
    void this.btf;
    return this._btfSource;
  }

  close(): void {
    this.dump.close();
  }

  /** The kernel release from VMCOREINFO, '' when it is missing or not a release. */
  get release(): string {
    const r = this.vmcoreinfo.osrelease ?? '';
    return RELEASE.test(r) ? r : '';
  }

  // ---- memory ---------------------------------------------------------

  read(va: bigint, length: number): Buffer {
    return this.arch.read(va, length);
  }
  readU8(va: bigint): number { return this.read(va, 1)[0]!; }
  readU16(va: bigint): number { return this.read(va, 2).readUInt16LE(0); }
  readU32(va: bigint): number { return this.read(va, 4).readUInt32LE(0); }
  readS32(va: bigint): number { return this.read(va, 4).readInt32LE(0); }
  readU64(va: bigint): bigint { return this.read(va, 8).readBigUInt64LE(0); }

  /** Read a NUL-terminated string, at most maxLen bytes, stopping early at unreadable pages. */
  readCString(va: bigint, maxLen = 4096): string {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < maxLen) {
      const a = va + BigInt(got);
      const n = Math.min(4096 - Number(a & 0xfffn), maxLen - got);
      const b = this.read(a, n);
      const z = b.indexOf(0);
      if (z >= 0) {
        parts.push(b.subarray(0, z));
        break;
      }
      parts.push(b);
      got += n;
    }
    return Buffer.concat(parts).toString('latin1');
  }

  /** Is the address readable (mapped and in the dump)? */
  canRead(va: bigint, length = 1): boolean {
    try {
      this.read(va, length);
      return true;
    } catch (e) {
      if (e instanceof DumpReadError) return false;
      throw e;
    }
  }

  /** Physical address of a kernel virtual address, or undefined if unmapped. */
  translate(va: bigint): number | undefined {
    try {
      return this.arch.translate(va);
    } catch (e) {
      if (e instanceof PageNotMappedError) return undefined;
      throw e;
    }
  }

  // ---- symbols ----------------------------------------------------------

  symbol(name: string): bigint {
    const a = this.symbols.address(name);
    if (a === undefined) throw new ReadFault(`no symbol ${name}`);
    return a;
  }

  /** A symbol of vmlinux or of any loaded module ("lab_mutex"), with the module it came from. */
  lookupAnySymbol(name: string): { address: bigint; module?: string } | undefined {
    const a = this.symbols.address(name);
    if (a !== undefined) return { address: a };
    try {
      return moduleSymbolAddress(this, name);
    } catch {
      return undefined;
    }
  }

  hasSymbol(name: string): boolean {
    return this.symbols.address(name) !== undefined;
  }

  /** Symbolize a kernel address: vmlinux symbols, then loaded modules (when a resolver is installed). */
  symbolize(addr: bigint): { name: string; offset: number; size: number; module?: string } | undefined {
    const r = this.symbols.symbolize(addr);
    if (r && r.entry.type !== 'A') return { name: r.entry.name, offset: r.offset, size: r.entry.size };
    if (addr < 0xffffffff80000000n) return undefined;
    try {
      return symbolizeModuleAddress(this, addr);
    } catch {
      return undefined;
    }
  }

  // ---- types and objects ------------------------------------------------

  requireBtf(): Btf {
    if (!this.btf) throw new ReadFault('no BTF type information (the dump has none and no --btf file was given)');
    return this.btf;
  }

  type(spelling: string): Type {
    try {
      return parseTypeName(spelling, this.btf);
    } catch (e) {
      if (e instanceof TypeNameError) throw new ReadFault(e.message);
      throw e;
    }
  }

  /** Does `struct name` exist in this kernel's BTF? */
  hasType(spelling: string): boolean {
    try {
      parseTypeName(spelling, this.btf);
      return true;
    } catch {
      return false;
    }
  }

  /** Byte offset of a (dotted) member path within a type. */
  offsetOf(type: Type | string, path: string): number {
    let t = typeof type === 'string' ? this.type(type) : type;
    let off = 0;
    for (const part of path.split('.')) {
      const m = findMember(t, part);
      if (!m) throw new ReadFault(`${typeName(t)} has no member ${part}`);
      off += m.bitOffset;
      t = m.type;
    }
    return off / 8;
  }

  /** Does the struct have this member (possibly dotted)? Used to detect kernel-version differences from BTF. */
  hasMember(type: string, path: string): boolean {
    try {
      this.offsetOf(type, path);
      return true;
    } catch {
      return false;
    }
  }

  /** The type of a global variable: per-CPU ones from BTF, the others from our table. */
  globalType(name: string): Type | undefined {
    if (this.globalTypes.has(name)) return this.globalTypes.get(name) ?? undefined;
    let t: Type | undefined;
    const spec = dataJson<Record<string, GlobalSpec>>('src/kernel/data/globals.json')[name];
    try {
      if (typeof spec === 'string') t = this.type(spec);
      else if (spec && typeof spec === 'object') t = this.syntheticStruct(name, spec.struct);
      else t = this.perCpuType(name);
    } catch {
      t = undefined;
    }
    this.globalTypes.set(name, t ?? null);
    return t;
  }

  private syntheticStruct(name: string, fields: Array<[string, string]>): CompoundType {
    const members: Member[] = [];
    let off = 0;
    for (const [mname, mtype] of fields) {
      const t = this.type(mtype);
      const s = strip(t);
      const size = s.kind === 'struct' || s.kind === 'union' ? s.size : s.kind === 'array' ? 8 : (s as { size?: number }).size ?? 8;
      const align = s.kind === 'struct' || s.kind === 'union' ? 8 : Math.min(8, Math.max(1, size));
      off = Math.ceil(off / align) * align;
      members.push({ name: mname, bitOffset: off * 8, bitSize: 0, type: t });
      off += size;
    }
    return { kind: 'struct', name: `<${name}>`, size: off, members };
  }

  private perCpuType(name: string): Type | undefined {
    if (!this.percpuTypes) this.percpuTypes = this.btf ? this.btf.percpuVars() : new Map();
    return this.percpuTypes.get(name);
  }

  /** A global variable as an object: prog.object('init_task').member('comm').string(). */
  object(name: string, type?: Type | string): KObject {
    const addr = this.symbol(name);
    const t = type === undefined ? this.globalType(name) : typeof type === 'string' ? this.type(type) : type;
    if (!t) throw new ReadFault(`type of ${name} unknown: add it to src/kernel/data/globals.json`);
    return new KObject(this, t, addr);
  }

  /** An object of a given type at an address. */
  objectAt(type: Type | string, address: bigint): KObject {
    return new KObject(this, typeof type === 'string' ? this.type(type) : type, address);
  }

  /** A value of a given type (integers, pointers). */
  value(type: Type | string, v: bigint): KObject {
    return new KObject(this, typeof type === 'string' ? this.type(type) : type, undefined, v);
  }

  // ---- CPUs and per-CPU data -------------------------------------------

  /**
   * nr_cpu_ids, bounded: a value read from a damaged page would make every
   * per-CPU loop run for ever. Outside 1..MAX_CPUS (x86_64's CONFIG_NR_CPUS
   * ceiling) it is replaced by the number of CPUs that saved registers, with
   * a problem saying so.
   */
  get nrCpuIds(): number {
    if (this._nrCpuIds === null) {
      let n: number | null = null;
      try {
        n = this.object('nr_cpu_ids').num();
      } catch (e) {
        this.problems.push(`nr_cpu_ids unreadable (${(e as Error).message}): assuming the CPUs that saved registers`);
      }
      if (n !== null && (!Number.isInteger(n) || n < 1 || n > MAX_CPUS)) {
        this.problems.push(`nr_cpu_ids reads ${n}, outside 1..${MAX_CPUS} (damaged memory): assuming the CPUs that saved registers`);
        n = null;
      }
      this._nrCpuIds = n ?? Math.max(1, Math.min(MAX_CPUS, this.dump.notes.filter((x) => x.type === 1).length));
    }
    return this._nrCpuIds;
  }

  /** __per_cpu_offset[cpu] for every possible CPU id (empty on !SMP). */
  get perCpuOffsets(): bigint[] {
    if (!this._perCpuOffsets) {
      const n = this.nrCpuIds;
      const base = this.symbols.address('__per_cpu_offset');
      if (base === undefined) this._perCpuOffsets = [0n];
      else {
        const b = this.read(base, n * 8);
        this._perCpuOffsets = Array.from({ length: n }, (_, i) => b.readBigUInt64LE(i * 8));
      }
    }
    return this._perCpuOffsets;
  }

  /** Address of a per-CPU variable on `cpu` (per_cpu_ptr). */
  perCpuAddress(name: string, cpu: number): bigint {
    const off = this.perCpuOffsets[cpu];
    if (off === undefined) throw new ReadFault(`no CPU ${cpu} (nr_cpu_ids ${this.nrCpuIds})`);
    return BigInt.asUintN(64, this.symbol(name) + off);
  }

  /** per_cpu(name, cpu) as an object. */
  perCpu(name: string, cpu: number, type?: Type | string): KObject {
    const t = type === undefined ? this.perCpuType(name) ?? this.globalType(name) : typeof type === 'string' ? this.type(type) : type;
    if (!t) throw new ReadFault(`type of per-CPU variable ${name} (${this.hasSymbol(name) ? `at 0x${this.symbol(name).toString(16)}` : 'no symbol'}) unknown: the BTF has no variable of that name`);
    return new KObject(this, t, this.perCpuAddress(name, cpu));
  }

  /** per_cpu_ptr(ptr, cpu) for a __percpu pointer value. */
  perCpuPtr(ptr: bigint, cpu: number): bigint {
    const off = this.perCpuOffsets[cpu];
    if (off === undefined) throw new ReadFault(`no CPU ${cpu}`);
    return BigInt.asUintN(64, ptr + off);
  }
}

/** Parse a System.map, sliding kernel-image addresses by KERNELOFFSET. */
export function loadSystemMap(path: string, kernelOffset: bigint): SymbolTable {
  const entries: Array<{ name: string; type: string; address: bigint }> = [];
  for (const line of fs.readFileSync(path, 'latin1').split('\n')) {
    const m = /^([0-9a-fA-F]+) (\w) (\S+)/.exec(line);
    if (!m) continue;
    let a = BigInt('0x' + m[1]);
    // Kernel-image addresses move with KASLR; per-CPU offsets (small values) do not.
    if (a >= START_KERNEL_MAP) a = BigInt.asUintN(64, a + kernelOffset);
    entries.push({ name: m[3]!, type: a < 0x100000000n ? 'A' : m[2]!, address: a });
  }
  if (entries.length === 0) throw new ProgramError(`${path}: not a System.map`);
  return symbolTableFrom(entries);
}

export type { SymbolEntry };
