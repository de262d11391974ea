// Loaded modules for `mod` and the taint family: name, struct module
// address, where its code lies, its state, and its own taint bits
// (module->taints) as letters.

import type { Program } from '../kernel/program.js';
import { Problems, attempt } from '../kernel/problems.js';
import { loadedModules } from '../kernel/modsyms.js';
import { moduleTaintLetters } from './taint.js';

export interface ModuleInfo {
  module: string;
  name: string;
  base: string;
  size: number;
  state: string;
  taints: string;
  /** Text size of the core region (where its functions are). */
  textSize: number;
}

export function modules(prog: Program, problems = new Problems()): ModuleInfo[] {
  const out: ModuleInfo[] = [];
  for (const m of loadedModules(prog, problems)) {
    try {
      const core = m.regions.find((r) => r.kind === 'core');
      out.push({
        module: m.obj.hex(),
        name: m.name,
        base: BigInt.asUintN(64, core?.base ?? 0n).toString(16).padStart(16, '0'),
        // The module's whole size, as crash prints it: since 6.4 a module's memory is one region per
        // kind (mod->mem[]: text, data, rodata, ro_after_init), and its size is their sum.
        size: m.regions.filter((r) => r.kind === 'core').reduce((a, r) => a + r.size, 0),
        textSize: core?.textSize ?? 0,
        state: attempt(problems, `state of ${m.name}`, () => m.obj.member('state').enumName().replace(/^MODULE_STATE_/, '').toLowerCase(), '?'),
        taints: attempt(problems, `taints of ${m.name}`, () => moduleTaintLetters(prog, m.obj.member('taints').value()), ''),
      });
    } catch (e) {
      problems.fromError(e, `module ${m.name}`);
    }
  }
  // crash lists modules by the address of their struct module.
  return out.sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : 0));
}
