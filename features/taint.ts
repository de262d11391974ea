// The taint family: the kernel's taint letters and what set them — which
// modules are out of tree, unsigned, forced or proprietary — and whether
// such a module is where the crash happened (in the panic stack) or holds
// the lock the blocked tasks wait on.

import type { Program } from '../src/kernel/program.js';
import { Problems, attempt } from '../src/kernel/problems.js';
import { taintedMask, taintLetters, taintFlags } from '../src/helpers/taint.js';
import { modules } from '../src/helpers/modules.js';

export interface TaintPart {
  /** tainted_mask as hex. */
  mask: string;
  /** The set letters as the kernel prints them, spaces removed ("OE"). */
  letters: string;
  /** Names of the set bits (TAINT_OOT_MODULE, ...). */
  flags: string[];
  /** Loaded modules that carry taint, with their letters. */
  modules: Array<{ name: string; taints: string }>;
  outOfTree: string[];
  unsigned: string[];
  forced: string[];
  proprietary: string[];
  /** Tainting modules with a frame in the panic stack. */
  inPanicStack: string[];
  /** Tainting modules with a frame on a lock holder's stack. */
  lockHolder: string[];
}

export function extractTaint(prog: Program, problems: Problems, panicModules: string[], holderFrames: string[]): TaintPart {
  const mask = attempt(problems, 'tainted_mask', () => taintedMask(prog), 0n);
  const mods = modules(prog, problems).filter((m) => m.taints.trim() !== '').map((m) => ({ name: m.name, taints: m.taints.replace(/\s/g, '') }));
  mods.sort((a, b) => a.name.localeCompare(b.name));
  const has = (l: string) => mods.filter((m) => m.taints.includes(l)).map((m) => m.name);
  const tainting = new Set(mods.map((m) => m.name));
  // A holder frame of a module function reads "func [module]" only in console text; from the dump we ask the symbolizer.
  const holderMods = new Set<string>();
  for (const f of holderFrames) {
    const m = / \[([^\]]+)\]$/.exec(f);
    if (m) holderMods.add(m[1]!);
  }
  return {
    mask: '0x' + mask.toString(16),
    letters: taintLetters(prog, mask).replace(/\s/g, ''),
    flags: taintFlags(prog, mask).filter((f) => f.set).map((f) => f.name),
    modules: mods,
    outOfTree: has('O'),
    unsigned: has('E'),
    forced: has('F'),
    proprietary: has('P'),
    inPanicStack: panicModules.filter((m) => tainting.has(m)).sort(),
    lockHolder: [...holderMods].filter((m) => tainting.has(m)).sort(),
  };
}
