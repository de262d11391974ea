// `mod`: loaded modules in crash's columns (MODULE NAME BASE SIZE OBJECT
// FILE) — symbols come from each module's own kallsyms, which crash calls
// [CONFIG_KALLSYMS] — plus each module's taint letters and load state.

import type { Program } from '../kernel/program.js';
import { Problems } from '../kernel/problems.js';
import { modules, type ModuleInfo } from '../helpers/modules.js';

export interface ModData {
  modules: ModuleInfo[];
  problems: Problems['list'];
}

export function collectMod(prog: Program): ModData {
  const problems = new Problems();
  return { modules: modules(prog, problems), problems: problems.list };
}

export function renderMod(d: ModData): string {
  const out = ['     MODULE       NAME                         BASE         SIZE  OBJECT FILE                      TAINTS  STATE'];
  for (const m of d.modules) {
    out.push(`${m.module}  ${m.name.padEnd(22)} ${m.base}  ${String(m.size).padStart(5)}  (not loaded)  [CONFIG_KALLSYMS]  ${(m.taints || '-').padEnd(6)}  ${m.state}`);
  }
  return out.join('\n') + '\n';
}
