// `ps`: crash's process table — PID, PPID, CPU, TASK, ST, %MEM, VSZ, RSS,
// COMM — with ">" on the task running on each CPU and kernel threads in
// [brackets].

import type { Program } from '../kernel/program.js';
import { Problems, attempt } from '../kernel/problems.js';
import { forEachTask, isKernelThread, taskCpu, taskStateCode } from '../helpers/tasks.js';
import { isActive } from '../helpers/stack.js';
import { taskMemory } from '../helpers/mm.js';
import { spannedPages } from '../helpers/system.js';

export interface PsRow {
  active: boolean;
  pid: number;
  ppid: number;
  cpu: number;
  task: string;
  state: string;
  memPercent: number;
  vszKB: number;
  rssKB: number;
  comm: string;
  kernelThread: boolean;
}

export interface PsData {
  rows: PsRow[];
  problems: Problems['list'];
}

export function collectPs(prog: Program): PsData {
  const problems = new Problems();
  // crash divides by the pages all nodes span (holes included).
  const totalKB = (attempt(problems, 'memory size', () => spannedPages(prog, problems), 0) * prog.vmcoreinfo.pageSize) / 1024;
  const rows: PsRow[] = [];
  for (const t of forEachTask(prog, problems)) {
    try {
      const kthread = isKernelThread(t);
      const mem = attempt(problems, `mm of task ${t.hex()}`, () => taskMemory(t), { vszKB: 0, rssKB: 0 });
      rows.push({
        active: isActive(prog, t),
        pid: t.member('pid').num(),
        // Idle tasks (pid 0) are their own ancestors; the others name their parent.
        ppid: t.member('pid').num() === 0 ? 0 : attempt(problems, `parent of ${t.hex()}`, () => t.member('real_parent').member('pid').num(), 0),
        cpu: taskCpu(t),
        task: t.hex(),
        state: taskStateCode(t),
        memPercent: totalKB ? (mem.rssKB * 100) / totalKB : 0,
        vszKB: mem.vszKB,
        rssKB: mem.rssKB,
        comm: t.member('comm').string(),
        kernelThread: kthread,
      });
    } catch (e) {
      problems.fromError(e, `task ${t.hex()}`);
    }
  }
  return { rows, problems: problems.list };
}

export function renderPs(d: PsData): string {
  const out = ['      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM'];
  for (const r of d.rows) {
    out.push(
      `${r.active ? '>' : ' '}${String(r.pid).padStart(8)}${String(r.ppid).padStart(8)}${String(r.cpu).padStart(4)}  ${r.task}  ${r.state.padEnd(2)}  ${r.memPercent.toFixed(1).padStart(4)}${String(r.vszKB).padStart(9)}${String(r.rssKB).padStart(9)}  ${r.kernelThread ? `[${r.comm}]` : r.comm}`,
    );
  }
  return out.join('\n') + '\n';
}
