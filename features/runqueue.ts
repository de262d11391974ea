// The runqueue family: how loaded each online CPU's runqueue was at the
// panic, how uneven the load was (max/mean, idle CPUs beside overloaded
// ones), which task had been running longest without a break, which
// cfs_rqs were throttled, and what was queued on the panic CPU.

import type { Program } from '../src/kernel/program.js';
import { Problems, attempt } from '../src/kernel/problems.js';
import { cfsStats, imbalance, runqueue, cfsTasks, type CfsStats } from '../src/helpers/sched.js';
import { panicCpu } from '../src/helpers/panic.js';
import { normalizeComm, round3 } from './normalize.js';

export interface RunqueuePart {
  cpus: number[];
  nrRunning: number[];
  loadAvg: number[];
  utilAvg: number[];
  max: number;
  mean: number;
  /** max/mean of nr_running (1 = even, 0 = all idle). */
  ratio: number;
  idleCpus: number[];
  idleWhileOverloaded: boolean;
  /** The current task that has been on its CPU longest in this stint (idle tasks excluded). */
  longestRunning: { cpu: number; comm: string; pid: number; seconds: number } | null;
  /** Throttled task-group cfs_rqs, by cgroup path, unique. */
  throttled: string[];
  /** The panic CPU's runqueue: current task and what waited behind it (names normalized, sorted). */
  panicCpu: { cpu: number; curr: string | null; nrRunning: number; queued: string[] } | null;
}

export function extractRunqueue(prog: Program, problems: Problems): RunqueuePart {
  // Every CPU's runqueue, as crash's runq shows them: a CPU that panic() stopped is
  // offline in the mask but its runqueue still says what it was doing.
  const stats: CfsStats[] = [];
  for (let c = 0; c < prog.nrCpuIds; c++) {
    const s = attempt(problems, `runqueue of CPU ${c}`, () => cfsStats(prog, c, problems), null);
    if (s) stats.push(s);
  }
  const imb = imbalance(stats);
  let longest: RunqueuePart['longestRunning'] = null;
  for (const s of stats) {
    if (s.idle || s.currOnCpuNs === null || s.currPid === null) continue;
    const sec = round3(Number(s.currOnCpuNs) / 1e9);
    if (!longest || sec > longest.seconds) longest = { cpu: s.cpu, comm: s.currComm ?? '?', pid: s.currPid, seconds: sec };
  }
  const pc = panicCpu(prog)?.cpu ?? null;
  let panicQ: RunqueuePart['panicCpu'] = null;
  if (pc !== null) {
    const rq = attempt(problems, `runqueue of panic CPU ${pc}`, () => runqueue(prog, pc, problems), null);
    const st = stats.find((s) => s.cpu === pc);
    if (rq) {
      const queued = [...rq.rt, ...rq.dl, ...cfsTasks(rq.cfs)].map((t) => normalizeComm(t.comm)).sort();
      panicQ = { cpu: pc, curr: rq.curr ? normalizeComm(rq.curr.comm) : null, nrRunning: st?.nrRunning ?? queued.length, queued };
    }
  }
  return {
    cpus: stats.map((s) => s.cpu),
    nrRunning: stats.map((s) => s.nrRunning),
    loadAvg: stats.map((s) => s.loadAvg),
    utilAvg: stats.map((s) => s.utilAvg),
    max: imb.max,
    mean: round3(imb.mean),
    ratio: round3(imb.ratio),
    idleCpus: imb.idleCpus,
    idleWhileOverloaded: imb.idleWhileOverloaded,
    longestRunning: longest,
    throttled: [...new Set(stats.flatMap((s) => s.throttledGroups))].sort(),
    panicCpu: panicQ,
  };
}
