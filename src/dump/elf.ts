// ELF core dumps: /proc/vmcore copies (one merged PT_NOTE, a PT_LOAD per RAM
// range plus one for the kernel text), QEMU dump-guest-memory `elf` (per-CPU
// NT_PRSTATUS + "QEMU" notes, physical PT_LOADs), and makedumpfile -E
// (excluded runs cut out: p_filesz < p_memsz, see makedumpfile.c).
// Physical addresses come from p_paddr in every case.

import { FormatError, ExcludedPageError, NotInDumpError } from './errors.js';
import { FORM_MAX, PagedMemory, type PageState } from './memory.js';
import { parseNotes, type Note } from './notes.js';
import type { ByteSource } from './source.js';

const PT_LOAD = 1;
const PT_NOTE = 4;
const PN_XNUM = 0xffff;
/** makedumpfile sets e_flags bit 0 when it ran out of space (DUMP_ELF_INCOMPLETE). */
const DUMP_ELF_INCOMPLETE = 1;

export interface ElfSegment {
  paddr: number;
  vaddr: bigint;
  offset: number;
  filesz: number;
  memsz: number;
}

export function isElf(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46;
}

export class ElfCore extends PagedMemory {
  readonly segments: ElfSegment[] = [];
  readonly notes: Note[] = [];
  readonly problems: string[] = [];
  readonly incomplete: boolean;
  readonly machine: number;

  constructor(private readonly src: ByteSource, cachePages: number) {
    super(4096, cachePages);
    const eh = src.read(0, Math.min(64, src.size));
    if (eh.length < 64 || !isElf(eh)) throw new FormatError(eh.length < 64 ? `ELF header cut short: the file has ${eh.length} bytes, the header needs 64 at offset 0` : 'not an ELF file (offset 0)');
    if (eh[4] !== 2) throw new FormatError('ELF: only 64-bit cores are supported');
    if (eh[5] !== 1) throw new FormatError('ELF: only little-endian cores are supported');
    const type = eh.readUInt16LE(16);
    if (type !== 4) throw new FormatError(`ELF: not a core file (e_type ${type})`);
    this.machine = eh.readUInt16LE(18);
    const flags = eh.readUInt32LE(48);
    this.incomplete = (flags & DUMP_ELF_INCOMPLETE) !== 0;
    const phoff = Number(eh.readBigUInt64LE(32));
    const shoff = Number(eh.readBigUInt64LE(40));
    const phentsize = eh.readUInt16LE(54);
    let phnum = eh.readUInt16LE(56);
    if (phnum === PN_XNUM) {
      // More than 0xfffe segments: the real count is in section header 0 (sh_info).
      const sh = src.read(shoff, 64);
      phnum = sh.readUInt32LE(44);
    }
    if (phentsize < 56 || phnum === 0) throw new FormatError('ELF: no program headers');
    const ph = src.read(phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const ptype = ph.readUInt32LE(o);
      const offset = Number(ph.readBigUInt64LE(o + 8));
      const vaddr = ph.readBigUInt64LE(o + 16);
      const paddr = Number(ph.readBigUInt64LE(o + 24));
      const filesz = Number(ph.readBigUInt64LE(o + 32));
      const memsz = Number(ph.readBigUInt64LE(o + 40));
      if (ptype === PT_NOTE) {
        try {
          this.notes.push(...parseNotes(src.read(offset, filesz), this.problems, offset));
        } catch (e) {
          this.problems.push(`PT_NOTE at file offset ${offset}: ${(e as Error).message}`);
        }
      } else if (ptype === PT_LOAD && memsz > 0) {
        this.segments.push({ paddr, vaddr, offset, filesz, memsz });
      }
    }
    this.segments.sort((a, b) => a.paddr - b.paddr);
    if (this.segments.length === 0) throw new FormatError(`ELF: no PT_LOAD segments among the ${phnum} program headers at offset ${phoff}`);
    const end = Math.max(...this.segments.map((s) => s.offset + s.filesz));
    if (end > src.size) {
      this.problems.push(`dump file truncated at ${src.size} bytes: its segments extend to ${end} (${end - src.size} bytes of memory missing)`);
    }
  }

  /** Segments that overlap page `pfn`. */
  private segmentsOf(pfn: number): ElfSegment[] {
    const start = pfn * this.pageSize;
    const end = start + this.pageSize;
    const segs = this.segments;
    // Last segment starting before the end of the page.
    let lo = 0;
    let hi = segs.length - 1;
    let last = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid]!.paddr < end) {
        last = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const out: ElfSegment[] = [];
    // Segments are few and rarely overlap (kernel text duplicates RAM): look back a little.
    for (let k = last; k >= 0 && k >= last - 8; k--) {
      const s = segs[k]!;
      if (s.paddr + s.memsz > start) out.push(s);
    }
    return out;
  }

  pageState(paddr: number): PageState {
    const pfn = Math.floor(paddr / this.pageSize);
    const segs = this.segmentsOf(pfn);
    if (segs.length === 0) return 'absent';
    return segs.some((s) => paddr >= s.paddr && paddr < s.paddr + s.filesz) ? 'present' : 'excluded';
  }

  protected loadPage(pfn: number): Buffer {
    const start = pfn * this.pageSize;
    const end = start + this.pageSize;
    const segs = this.segmentsOf(pfn);
    if (segs.length === 0) throw new NotInDumpError(start);
    const s0 = segs[0]!;
    if (s0.paddr <= start && s0.paddr + s0.filesz >= end) {
      return this.src.read(s0.offset + (start - s0.paddr), this.pageSize);
    }
    // A page at the edge of a segment, or in the part makedumpfile -E left out.
    const page = Buffer.alloc(this.pageSize);
    let any = false;
    let excluded = false;
    for (const s of segs.reverse()) {
      const a = Math.max(start, s.paddr);
      const bFile = Math.min(end, s.paddr + s.filesz);
      const bMem = Math.min(end, s.paddr + s.memsz);
      if (bFile > a) {
        this.src.read(s.offset + (a - s.paddr), bFile - a).copy(page, a - start);
        any = true;
      }
      if (bMem > Math.max(a, bFile)) excluded = true;
    }
    if (!any && excluded) throw new ExcludedPageError(start, 'page excluded from the ELF dump (p_filesz < p_memsz)');
    return page;
  }

  /** An ELF dump stores pages as they are: the form of a run inside one segment is one read of the file. */
  storedForm(pfn: number, count: number): Buffer | null {
    const ps = this.pageSize;
    if (!(count > 0) || count * ps > FORM_MAX) return null;
    const s0 = this.segmentsOf(pfn)[0];
    const start = pfn * ps;
    if (!s0 || s0.paddr > start || s0.paddr + s0.filesz < start + count * ps) return null;
    // Each page must come from that segment, as loadPage would take it (overlapping segments: the last).
    for (let i = 1; i < count; i++) if (this.segmentsOf(pfn + i)[0] !== s0) return null;
    try {
      return this.src.read(s0.offset + (start - s0.paddr), count * ps);
    } catch {
      return null; // a short file: the caller reads page by page and reports what is missing
    }
  }

  ranges(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const s of this.segments) {
      const last = out[out.length - 1];
      const e = s.paddr + s.memsz;
      if (last && s.paddr <= last[1]) last[1] = Math.max(last[1], e);
      else out.push([s.paddr, e]);
    }
    return out;
  }
}
