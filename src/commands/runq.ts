// `runq`: each CPU's runqueue in crash's layout (current task, then the RT
// priority array and the CFS tree, group entities followed), `-t` crash's
// timestamps (rq->clock and the current task's last arrival), and `-c` a
// table of the fair class per CPU with an imbalance summary.

import type { Program } from '../kernel/program.js';
import { Problems } from '../kernel/problems.js';
import { runqueue, cfsStats, cfsTasks, imbalance, type Runqueue, type CfsEntry, type CfsStats, type Imbalance } from '../helpers/sched.js';

export interface RunqOptions {
  timestamps?: boolean;
  cfsTable?: boolean;
  /** -g: show task groups as nested trees (default: flattened in tree order, like crash's runq). */
  groups?: boolean;
}

export interface RunqData {
  runqueues: Runqueue[];
  cfs: CfsStats[];
  imbalance: Imbalance;
  problems: Problems['list'];
}

export function collectRunq(prog: Program): RunqData {
  const problems = new Problems();
  const runqueues: Runqueue[] = [];
  const cfs: CfsStats[] = [];
  for (let cpu = 0; cpu < prog.nrCpuIds; cpu++) {
    try {
      runqueues.push(runqueue(prog, cpu, problems));
      cfs.push(cfsStats(prog, cpu, problems));
    } catch (e) {
      problems.fromError(e, `runqueue of CPU ${cpu}`);
    }
  }
  return { runqueues, cfs, imbalance: imbalance(cfs), problems: problems.list };
}

const task = (t: { pid: number; task: string; comm: string }) => `PID: ${String(t.pid).padEnd(6)} TASK: ${t.task}  COMMAND: "${t.comm}"`;

function renderCfs(entries: CfsEntry[], indent: string, out: string[], groups: boolean): void {
  if (entries.length === 0 || (!groups && cfsTasks(entries).length === 0)) out.push(`${indent}[no tasks queued]`);
  for (const e of entries) {
    if (e.kind === 'task') out.push(`${indent}[${e.task.prio}] ${task(e.task)}`);
    else if (groups) {
      out.push(`${indent}GROUP CFS RB_ROOT: ${e.group.cfsRq}  <${e.group.name}>`);
      renderCfs(e.group.entries, indent + '   ', out, groups);
    } else {
      for (const t of cfsTasks(e.group.entries)) out.push(`${indent}[${t.prio}] ${task(t)}`);
    }
  }
}

export function renderRunq(d: RunqData, opts: RunqOptions = {}): string {
  const out: string[] = [];
  if (opts.timestamps) {
    for (const r of d.runqueues) {
      const clock = String(r.clock);
      out.push(` CPU ${r.cpu}: ${clock}`);
      // crash zero-pads the arrival time to the width of the clock.
      if (r.curr) out.push(`        ${String(r.currLastArrival ?? 0n).padStart(clock.length, '0')}  ${task(r.curr)}`);
    }
    return out.join('\n') + '\n';
  }
  if (opts.cfsTable) return renderCfsTable(d);
  d.runqueues.forEach((r, i) => {
    if (i) out.push('');
    out.push(`CPU ${r.cpu} RUNQUEUE: ${r.rq}`);
    out.push(`  CURRENT: ${r.curr ? task(r.curr) : '(unknown)'}`);
    if (r.dl.length) {
      out.push('  DL_RQ:');
      for (const t of r.dl) out.push(`     [${t.prio}] ${task(t)}`);
    }
    out.push(`  RT PRIO_ARRAY: ${r.rtArray}`);
    if (r.rt.length === 0) out.push('     [no tasks queued]');
    for (const t of r.rt) out.push(`     [${String(t.prio).padStart(3)}] ${task(t)}`);
    out.push(`  CFS RB_ROOT: ${r.cfsRoot}`);
    renderCfs(r.cfs, '     ', out, !!opts.groups);
  });
  return out.join('\n') + '\n';
}

const ms = (ns: bigint | null) => (ns === null ? '-' : (Number(ns) / 1e6).toFixed(1));

export function renderCfsTable(d: RunqData): string {
  const head = ['CPU', 'NR_RUN', 'CFS_NR', 'H_NR', 'RT_NR', 'LOAD_AVG', 'RUNNABLE', 'UTIL', 'MIN_VRUNTIME', 'THROTTLED', 'CURR', 'CURR_VRUNTIME', 'RUN_MS', 'ONCPU_MS'];
  const rows = d.cfs.map((s) => [
    String(s.cpu), String(s.nrRunning), String(s.cfsNrRunning), String(s.hNrRunning), String(s.rtNrRunning),
    String(s.loadAvg), String(s.runnableAvg), String(s.utilAvg), String(s.minVruntime),
    s.throttled ? 'yes' : s.throttledGroups.length ? `groups: ${s.throttledGroups.join(',')}` : 'no',
    s.idle ? '(idle)' : `${s.currComm}:${s.currPid}`, s.currVruntime === null ? '-' : String(s.currVruntime), ms(s.currRunNs), ms(s.currOnCpuNs),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(w[i]!)).join('  ');
  const im = d.imbalance;
  return [
    line(head),
    ...rows.map(line),
    '',
    `IMBALANCE: nr_running per CPU [${im.nrRunning.join(', ')}], max ${im.max}, mean ${im.mean.toFixed(2)}, max/mean ${im.ratio.toFixed(2)}; busiest CPU ${im.busiestCpu}` +
      (im.idleCpus.length ? `; idle CPUs ${im.idleCpus.join(',')}` : '') + (im.idleWhileOverloaded ? ' — IDLE CPUs NEXT TO AN OVERLOADED ONE' : ''),
  ].join('\n') + '\n';
}
