// What `report` says about one dump: the crash-like commands one after the
// other, as text and as one JSON document. A section that fails is reported
// in place and does not stop the others.

import { Program, type ProgramOptions } from '../kernel/program.js';
import { collectSys, renderSys } from '../commands/sys.js';
import { collectLog, renderLog } from '../commands/log.js';
import { collectBt, renderBt } from '../commands/bt.js';
import { collectRunq, renderRunq } from '../commands/runq.js';
import { collectLockinfo, renderLockinfo } from '../commands/lockinfo.js';
import { collectMod, renderMod } from '../commands/mod.js';
import { collectCpuinfo, renderCpuinfo } from '../commands/cpuinfo.js';
import { collectCgroupinfo, renderCgroupinfo } from '../commands/cgroupinfo.js';
import { collectTasktable, renderTasktable } from '../commands/tasktable.js';

export interface Section {
  name: string;
  command: string;
  text: string;
  data: unknown;
  error?: string;
  seconds: number;
}

export interface DumpReport {
  dump: string;
  kernel: string | null;
  panic: string | null;
  seconds: number;
  problems: number;
  sections: Section[];
  error?: string;
}

type Step = [name: string, command: string, run: (p: Program) => { text: string; data: unknown }];

const STEPS: Step[] = [
  ['sys', 'sys -t', (p) => { const d = collectSys(p, { taint: true }); return { data: d, text: renderSys(d, { taint: true }) }; }],
  ['log', 'log --tail 60', (p) => { const d = collectLog(p, { tail: 60 }); return { data: d, text: renderLog(d) }; }],
  ['bt', 'bt -a', (p) => { const d = collectBt(p, { all: true }); return { data: d, text: renderBt(d) }; }],
  ['runq', 'runq', (p) => { const d = collectRunq(p); return { data: d, text: renderRunq(d) + '\n' + renderRunq(d, { cfsTable: true }) }; }],
  ['locks', 'lockinfo --blocked', (p) => { const d = collectLockinfo(p, { blocked: true }); return { data: d, text: renderLockinfo(d) }; }],
  ['tasks', 'tasktable --outliers', (p) => { const d = collectTasktable(p, { outliersOnly: true }); return { data: d, text: renderTasktable(d) }; }],
  ['mod', 'mod', (p) => { const d = collectMod(p); return { data: d, text: renderMod(d) }; }],
  ['cpu', 'cpuinfo', (p) => { const d = collectCpuinfo(p); return { data: d, text: renderCpuinfo(d) }; }],
  ['cgroup', 'cgroupinfo', (p) => { const d = collectCgroupinfo(p); return { data: d, text: renderCgroupinfo(d) }; }],
];

export function reportDump(path: string, displayName: string, opts: ProgramOptions = {}): DumpReport {
  const t0 = performance.now();
  let prog: Program;
  try {
    prog = Program.open(path, { ...opts, displayPath: displayName });
  } catch (e) {
    return { dump: displayName, kernel: null, panic: null, seconds: (performance.now() - t0) / 1000, problems: 0, sections: [], error: (e as Error).message };
  }
  const sections: Section[] = [];
  let problems = prog.problems.length;
  for (const [name, command, run] of STEPS) {
    const s0 = performance.now();
    try {
      const { text, data } = run(prog);
      problems += ((data as { problems?: unknown[] }).problems ?? []).length;
      sections.push({ name, command, text, data, seconds: (performance.now() - s0) / 1000 });
    } catch (e) {
      problems++;
      sections.push({ name, command, text: `(failed: ${(e as Error).message})\n`, data: null, error: (e as Error).message, seconds: (performance.now() - s0) / 1000 });
    }
  }
  const sys = sections.find((s) => s.name === 'sys')?.data as { release?: string; panic?: string | null } | null;
  prog.close();
  return {
    dump: displayName,
    kernel: sys?.release ?? prog.release,
    panic: sys?.panic ?? null,
    seconds: (performance.now() - t0) / 1000,
    problems: problems,
    sections,
  };
}

export function reportText(r: DumpReport): string {
  if (r.error) return `DUMP: ${r.dump}\nERROR: ${r.error}\n`;
  return r.sections.map((s) => `==== ${s.command} ====\n${s.text}`).join('\n');
}
