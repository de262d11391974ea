// The kernel's ORC unwind tables, read from the dump: vmlinux's
// __start_orc_unwind_ip..__stop_orc_unwind_ip (s32, relative to their own
// address) and __start_orc_unwind (6-byte struct orc_entry), and each
// module's mod->arch.{num_orcs, orc_unwind_ip, orc_unwind}. Lookup is the
// kernel's __orc_find(): the last entry whose ip is at or below the address.
// The entry's bitfield layout comes from BTF (struct orc_entry); the format
// version (register/type numbering) from the members it has.

import type { Program } from './program.js';
import { addrKey } from './kallsyms.js';
import { dataJson } from '../util/datafile.js';
import { findMember, strip } from './types.js';
import { moduleOfAddress } from './modsyms.js';

export type OrcReg = 'UNDEFINED' | 'PREV_SP' | 'DX' | 'DI' | 'BP' | 'SP' | 'R10' | 'R13' | 'BP_INDIRECT' | 'SP_INDIRECT' | 'AX';
export type OrcType = 'UNDEFINED' | 'END_OF_STACK' | 'CALL' | 'REGS' | 'REGS_PARTIAL';

export interface OrcEntry {
  spOffset: number;
  bpOffset: number;
  spReg: OrcReg;
  bpReg: OrcReg;
  type: OrcType;
  end: boolean;
  signal: boolean;
}

interface Field { bit: number; width: number }
interface Layout {
  version: number;
  spReg: Field; bpReg: Field; type: Field; end?: Field; signal?: Field;
  regs: string[]; types: string[];
}

function layout(prog: Program): Layout {
  const cached = prog.cache.get('orc:layout') as Layout | undefined;
  if (cached) return cached;
  const data = dataJson<{ regsByVersion: Record<string, string[]>; typesByVersion: Record<string, string[]> }>('src/kernel/data/orc.json');
  let l: Layout;
  const t = prog.btf?.find('orc_entry', 'struct');
  const f = (name: string): Field | undefined => {
    const m = t && findMember(t, name);
    return m ? { bit: m.bitOffset - 32, width: m.bitSize || 8 } : undefined;
  };
  if (t && strip(t).kind === 'struct' && f('sp_reg')) {
    // 6.3 added `signal` (v2); 6.4 widened `type` to 3 bits and renumbered types (v3).
    const typeField = f('type')!;
    const version = typeField.width >= 3 ? 3 : f('signal') ? 2 : 1;
    l = { version, spReg: f('sp_reg')!, bpReg: f('bp_reg')!, type: typeField, end: f('end'), signal: f('signal'), regs: data.regsByVersion[version]!, types: data.typesByVersion[version]! };
  } else {
    // No BTF for orc_entry: assume the layout of Linux 6.1 (v1): sp_reg:4 bp_reg:4 type:2 end:1.
    l = { version: 1, spReg: { bit: 0, width: 4 }, bpReg: { bit: 4, width: 4 }, type: { bit: 8, width: 2 }, end: { bit: 10, width: 1 }, regs: data.regsByVersion['1']!, types: data.typesByVersion['1']! };
  }
  prog.cache.set('orc:layout', l);
  return l;
}

/**
 * An ORC table read in place: the ip array is sorted by the build
 * (scripts/sorttable), so lookups binary-search it in dump memory and read
 * one 6-byte entry — a few pages per lookup instead of megabytes up front.
 */
export class OrcTable {
  constructor(
    private readonly prog: Program,
    private readonly l: Layout,
    private readonly ipBase: bigint,
    private readonly entriesBase: bigint,
    readonly size: number,
    readonly lowest: number,
    readonly highest: number,
  ) {}

  private ipKey(i: number): number {
    const a = this.ipBase + BigInt(i * 4);
    return addrKey(a) + this.prog.readS32(a);
  }

  /** The entry covering `pc` (the last one at or below it), or undefined outside the table. */
  find(pc: bigint): OrcEntry | undefined {
    const k = addrKey(pc);
    if (k < this.lowest || k >= this.highest) return undefined;
    let lo = 0;
    let hi = this.size - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.ipKey(mid) <= k) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    return this.decode(this.prog.read(this.entriesBase + BigInt(found * 6), 6));
  }

  private decode(e: Buffer): OrcEntry {
    const bits = e.readUInt16LE(4);
    const get = (f: Field | undefined) => (f ? (bits >> f.bit) & ((1 << f.width) - 1) : 0);
    return {
      spOffset: e.readInt16LE(0),
      bpOffset: e.readInt16LE(2),
      spReg: (this.l.regs[get(this.l.spReg)] ?? 'UNDEFINED') as OrcReg,
      bpReg: (this.l.regs[get(this.l.bpReg)] ?? 'UNDEFINED') as OrcReg,
      type: (this.l.types[get(this.l.type)] ?? 'UNDEFINED') as OrcType,
      end: get(this.l.end) === 1,
      signal: get(this.l.signal) === 1,
    };
  }
}

/** vmlinux's ORC table, covering kernel text (_stext.._etext plus the entry/init text the table names). */
export function vmlinuxOrc(prog: Program): OrcTable | null {
  if (prog.cache.has('orc:vmlinux')) return prog.cache.get('orc:vmlinux') as OrcTable | null;
  let t: OrcTable | null = null;
  const s = prog.symbols;
  const ipStart = s.address('__start_orc_unwind_ip');
  const ipStop = s.address('__stop_orc_unwind_ip');
  const uStart = s.address('__start_orc_unwind');
  if (ipStart !== undefined && ipStop !== undefined && uStart !== undefined && ipStop > ipStart) {
    const n = Number(ipStop - ipStart) / 4;
    const lo = addrKey(s.address('_text') ?? s.address('_stext')!);
    const hi = addrKey(s.address('_end') ?? ipStart);
    t = new OrcTable(prog, layout(prog), ipStart, uStart, n, lo, hi);
  }
  prog.cache.set('orc:vmlinux', t);
  return t;
}

/** A module's ORC table (mod->arch), cached by module address. */
export function moduleOrc(prog: Program, addr: bigint): OrcTable | null {
  const hit = moduleOfAddress(prog, addr);
  if (!hit) return null;
  const key = `orc:mod:${hit.mod.obj.hex()}`;
  if (prog.cache.has(key)) return prog.cache.get(key) as OrcTable | null;
  let t: OrcTable | null = null;
  try {
    const arch = hit.mod.obj.member('arch');
    const n = arch.member('num_orcs').num();
    if (n > 0 && n < 1 << 22) {
      const ip = arch.member('orc_unwind_ip').value();
      const u = arch.member('orc_unwind').value();
      const text = hit.mod.regions.filter((r) => r.textSize > 0);
      const lo = Math.min(...text.map((r) => addrKey(r.base)));
      const hi = Math.max(...text.map((r) => addrKey(r.base) + r.size));
      t = new OrcTable(prog, layout(prog), ip, u, n, lo, hi);
    }
  } catch {
    t = null;
  }
  prog.cache.set(key, t);
  return t;
}

/** The ORC entry for a text address, from vmlinux's table or its module's. */
export function orcFind(prog: Program, pc: bigint): OrcEntry | undefined {
  return vmlinuxOrc(prog)?.find(pc) ?? moduleOrc(prog, pc)?.find(pc);
}
