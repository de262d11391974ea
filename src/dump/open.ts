// Open a dump file of any supported container and describe it: one entry
// point for the layers above, which see only PhysicalMemory + notes.

import { ElfCore, isElf } from './elf.js';
import { FormatError } from './errors.js';
import { FlattenedSource, isFlattened } from './flattened.js';
import { KdumpFile, isKdump } from './kdump.js';
import { DEFAULT_CACHE_PAGES, type PhysicalMemory } from './memory.js';
import type { Note } from './notes.js';
import { FileSource, type ByteSource } from './source.js';

export type DumpFormat = 'elf' | 'kdump' | 'flattened-kdump' | 'flattened-elf';

export interface DumpInfo {
  format: DumpFormat;
  /** Page compression of kdump files ('none' for ELF). */
  compression: string;
  fileSize: number;
  /** kdump: makedumpfile's dump_level (0..31); ELF: null. */
  dumpLevel: number | null;
  /** The dump tool ran out of space or was interrupted. */
  incomplete: boolean;
  /** kdump status flag: vmemmap (struct page array) pages were excluded. */
  excludedVmemmap: boolean;
  headerVersion: number | null;
  /** kdump header fields of interest (timestamp is when the dump was written). */
  kdump?: {
    timestamp: number;
    nrCpus: number;
    currentCpu: number;
    physBase: bigint;
    utsMachine: string;
    utsRelease: string;
    dumpedPages: number;
    maxMapnr: number;
  };
  elf?: { segments: number; machine: number };
}

export interface Dump {
  path: string;
  info: DumpInfo;
  memory: PhysicalMemory;
  notes: Note[];
  /** VMCOREINFO text found outside the notes (kdump header version 3). */
  vmcoreinfoText: string | null;
  /** Problems met while opening (not fatal). */
  problems: string[];
  close(): void;
}

export interface OpenOptions {
  cachePages?: number;
  /** Name to report instead of the path opened (e.g. the .zst the file came from). */
  displayPath?: string;
}

export function openDumpSource(src: ByteSource, path: string, opts: OpenOptions = {}): Dump {
  const cachePages = opts.cachePages ?? DEFAULT_CACHE_PAGES;
  if (src.size === 0) throw new FormatError('empty file');
  let head = src.read(0, Math.min(64, src.size));
  let flat: FlattenedSource | null = null;
  let inner: ByteSource = src;
  if (isFlattened(head)) {
    flat = new FlattenedSource(src);
    inner = flat;
    if (flat.size === 0) throw new FormatError(`flattened dump holds no data records (record headers from file offset 4096${flat.problems.length ? `: ${flat.problems[0]}` : ''})`);
    head = flat.read(0, Math.min(64, flat.size));
  }
  const problems: string[] = flat ? [...flat.problems] : [];
  if (isKdump(head)) {
    const k = new KdumpFile(inner, cachePages);
    problems.push(...k.problems);
    if (k.incomplete) problems.push('dump is marked incomplete (makedumpfile ran out of space or was interrupted)');
    return {
      path,
      info: {
        format: flat ? 'flattened-kdump' : 'kdump',
        compression: k.compression,
        fileSize: src.size,
        dumpLevel: k.subHeader.dumpLevel,
        incomplete: k.incomplete,
        excludedVmemmap: k.excludedVmemmap,
        headerVersion: k.header.headerVersion,
        kdump: {
          timestamp: k.header.timestamp.sec,
          nrCpus: k.header.nrCpus,
          currentCpu: k.header.currentCpu,
          physBase: k.subHeader.physBase,
          utsMachine: k.header.utsname.machine,
          utsRelease: k.header.utsname.release,
          dumpedPages: k.dumpedPages,
          maxMapnr: k.header.maxMapnr,
        },
      },
      memory: k,
      notes: k.notes,
      vmcoreinfoText: k.vmcoreinfoText,
      problems,
      close: () => src.close(),
    };
  }
  if (isElf(head)) {
    const e = new ElfCore(inner, cachePages);
    problems.push(...e.problems);
    if (e.incomplete) problems.push('ELF dump is marked incomplete (e_flags DUMP_ELF_INCOMPLETE)');
    return {
      path,
      info: {
        format: flat ? 'flattened-elf' : 'elf',
        compression: 'none',
        fileSize: src.size,
        dumpLevel: null,
        incomplete: e.incomplete,
        excludedVmemmap: false,
        headerVersion: null,
        elf: { segments: e.segments.length, machine: e.machine },
      },
      memory: e,
      notes: e.notes,
      vmcoreinfoText: null,
      problems,
      close: () => src.close(),
    };
  }
  // A file cut inside a magic is a truncated dump, not a text file.
  for (const magic of ['KDUMP   ', 'DISKDUMP', 'makedumpfile', '\x7fELF']) {
    const m = Buffer.from(magic, 'latin1');
    if (head.length < m.length && head.equals(m.subarray(0, head.length))) throw new FormatError(`truncated dump: the file ends after ${head.length} bytes, inside its "${magic.replace('\x7f', '\\x7f').trim()}" signature at offset 0`);
  }
  const printable = head.subarray(0, 16).every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  throw new FormatError(printable ? 'not a vmcore: this is a text file (offset 0)' : 'not a vmcore: unknown file signature at offset 0 (expected ELF, KDUMP or makedumpfile)');
}

export function openDump(path: string, opts: OpenOptions = {}): Dump {
  const src = new FileSource(path);
  try {
    return openDumpSource(src, opts.displayPath ?? path, opts);
  } catch (e) {
    src.close();
    throw e;
  }
}
