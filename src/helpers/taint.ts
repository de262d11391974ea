// Taint: the kernel's tainted_mask decoded with the letters the kernel itself
// uses. The letters come from the dump's own taint_flags[] (struct
// taint_flag {char c_true, c_false; bool module;}, since 4.10) so new bits
// read right; names and meanings come from our table.

import type { Program } from '../kernel/program.js';
import { dataJson } from '../util/datafile.js';

interface TaintRow {
  bit: number;
  name: string;
  true: string;
  false: string;
  module: boolean;
  meaning: string;
}

export interface TaintFlag extends TaintRow {
  set: boolean;
}

export function taintTable(prog: Program): TaintRow[] {
  const cached = prog.cache.get('taint_flags') as TaintRow[] | undefined;
  if (cached) return cached;
  const table = dataJson<{ flags: TaintRow[] }>('src/helpers/data/taint.json').flags;
  let rows = table;
  try {
    const sym = prog.symbols.lookup('taint_flags');
    const elem = prog.hasType('struct taint_flag') ? prog.type('struct taint_flag') : null;
    if (sym && elem) {
      const size = (elem as { size: number }).size;
      const n = sym.size ? Math.floor(sym.size / size) : table.length - 1;
      rows = [];
      for (let i = 0; i < n && i < 64; i++) {
        const f = prog.objectAt(elem, sym.address + BigInt(i * size));
        const known = table.find((r) => r.bit === i);
        rows.push({
          bit: i,
          name: known?.name ?? `TAINT_BIT_${i}`,
          true: String.fromCharCode(f.member('c_true').num()),
          false: String.fromCharCode(f.member('c_false').num()),
          module: f.member('module').bool(),
          meaning: known?.meaning ?? 'unknown taint bit',
        });
      }
    }
  } catch {
    rows = table;
  }
  prog.cache.set('taint_flags', rows);
  return rows;
}

export function taintedMask(prog: Program): bigint {
  return prog.object('tainted_mask').value();
}

/** Letters of the set bits, in bit order ("OE"), as crash's sys -t prints them. */
export function taintLetters(prog: Program, mask = taintedMask(prog)): string {
  return taintTable(prog).filter((r) => (mask >> BigInt(r.bit)) & 1n).map((r) => r.true).join('');
}

/** The kernel's own "Tainted: G           OE" field (print_tainted()). */
export function taintString(prog: Program, mask = taintedMask(prog)): string {
  return taintTable(prog).map((r) => ((mask >> BigInt(r.bit)) & 1n ? r.true : r.false)).join('');
}

export function taintFlags(prog: Program, mask = taintedMask(prog)): TaintFlag[] {
  return taintTable(prog).map((r) => ({ ...r, set: ((mask >> BigInt(r.bit)) & 1n) === 1n }));
}

/** Letters for a module's own taints (module->taints), e.g. "OE". */
export function moduleTaintLetters(prog: Program, taints: bigint): string {
  return taintTable(prog).filter((r) => r.module && (taints >> BigInt(r.bit)) & 1n).map((r) => r.true).join('');
}
