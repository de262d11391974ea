// The scheduler's view: each CPU's runqueue (current task, and the queued
// tasks of the RT, deadline and fair classes, group entities followed into
// their cfs_rq), the fair-class numbers per CPU, and how unevenly the CPUs
// are loaded. Walks follow drgn's sched helpers and crash's runq.

import type { Program } from '../kernel/program.js';
import type { KObject } from '../kernel/object.js';
import { Problems, attempt } from '../kernel/problems.js';
import { listForEachEntry, rbtreeForEachEntry } from '../kernel/iter.js';
import { cgroupPath } from './cgroup.js';

export interface QueuedTask {
  pid: number;
  task: string;
  comm: string;
  prio: number;
}

export interface CfsGroup {
  /** The task group's cgroup path, or the cfs_rq address when it cannot be named. */
  name: string;
  cfsRq: string;
  entries: CfsEntry[];
}

export type CfsEntry = { kind: 'task'; task: QueuedTask } | { kind: 'group'; group: CfsGroup };

export interface Runqueue {
  cpu: number;
  rq: string;
  curr: QueuedTask | null;
  rtArray: string;
  rt: QueuedTask[];
  dl: QueuedTask[];
  cfsRoot: string;
  cfs: CfsEntry[];
  /** rq->clock (ns) and the current task's sched_info.last_arrival (crash's runq -t). */
  clock: bigint;
  currLastArrival: bigint | null;
}

function queued(t: KObject): QueuedTask {
  return { pid: t.member('pid').num(), task: t.hex(), comm: t.member('comm').string(), prio: t.member('prio').num() };
}

function cfsEntries(prog: Program, cfsRq: KObject, problems: Problems, depth: number): CfsEntry[] {
  const out: CfsEntry[] = [];
  const root = cfsRq.member('tasks_timeline').member('rb_root');
  for (const se of rbtreeForEachEntry(root, 'struct sched_entity', 'run_node', { problems, context: `cfs_rq ${cfsRq.hex()}`, limit: 100000 })) {
    try {
      // A group entity owns a cfs_rq (se->my_q, CONFIG_FAIR_GROUP_SCHED); a task entity does not.
      const myQ = se.has('my_q') ? se.member('my_q') : null;
      if (myQ && !myQ.isNull() && depth < 32) {
        const q = myQ.deref();
        let name = q.hex();
        try {
          name = cgroupPath(q.member('tg').member('css').member('cgroup').deref());
        } catch { /* unnamed group */ }
        out.push({ kind: 'group', group: { name, cfsRq: q.hex(), entries: cfsEntries(prog, q, problems, depth + 1) } });
      } else {
        out.push({ kind: 'task', task: queued(se.containerOf('struct task_struct', 'se')) });
      }
    } catch (e) {
      problems.fromError(e, `sched_entity ${se.hex()}`);
    }
  }
  return out;
}

export function runqueue(prog: Program, cpu: number, problems = new Problems()): Runqueue {
  const rq = prog.perCpu('runqueues', cpu);
  const currTask = attempt(problems, `rq ${cpu} curr`, () => rq.member('curr').deref(), null);
  const rt: QueuedTask[] = [];
  const rtArray = rq.member('rt').member('active');
  const queue = rtArray.member('queue');
  const nq = (queue.realType as { length?: number }).length ?? 100;
  for (let p = 0; p < nq; p++) {
    for (const rse of listForEachEntry(queue.index(p), 'struct sched_rt_entity', 'run_list', { problems, context: `rt queue ${p} of CPU ${cpu}`, limit: 100000 })) {
      try {
        if (rse.has('my_q') && !rse.member('my_q').isNull()) continue; // RT group entity
        rt.push(queued(rse.containerOf('struct task_struct', 'rt')));
      } catch (e) {
        problems.fromError(e, `rt entity ${rse.hex()}`);
      }
    }
  }
  const dl: QueuedTask[] = [];
  for (const dse of rbtreeForEachEntry(rq.member('dl').member('root').member('rb_root'), 'struct sched_dl_entity', 'rb_node', { problems, context: `dl rq of CPU ${cpu}`, limit: 100000 })) {
    try {
      dl.push(queued(dse.containerOf('struct task_struct', 'dl')));
    } catch (e) {
      problems.fromError(e, `dl entity ${dse.hex()}`);
    }
  }
  const cfsRq = rq.member('cfs');
  return {
    cpu,
    rq: rq.hex(),
    curr: currTask && queued(currTask),
    rtArray: rtArray.hex(),
    rt,
    dl,
    cfsRoot: cfsRq.member('tasks_timeline').hex(),
    cfs: cfsEntries(prog, cfsRq, problems, 0),
    clock: rq.member('clock').value(),
    currLastArrival: currTask ? attempt(problems, 'last_arrival', () => currTask.member('sched_info').member('last_arrival').value(), null) : null,
  };
}

/** Every task queued on a runqueue's fair class, flattened out of groups. */
export function cfsTasks(entries: CfsEntry[]): QueuedTask[] {
  return entries.flatMap((e) => (e.kind === 'task' ? [e.task] : cfsTasks(e.group.entries)));
}

export interface CfsStats {
  cpu: number;
  nrRunning: number;
  cfsNrRunning: number;
  hNrRunning: number;
  rtNrRunning: number;
  loadAvg: number;
  runnableAvg: number;
  utilAvg: number;
  minVruntime: bigint;
  throttled: boolean;
  /** Throttled cfs_rqs of task groups on this CPU. */
  throttledGroups: string[];
  currPid: number | null;
  currComm: string | null;
  currVruntime: bigint | null;
  /** How long the current task has run since it was last scheduled in (rq->clock_task - se.exec_start), ns. */
  currRunNs: bigint | null;
  /** rq->clock minus the current task's last_arrival: time on CPU in this stint, ns. */
  currOnCpuNs: bigint | null;
  idle: boolean;
}

export function cfsStats(prog: Program, cpu: number, problems = new Problems()): CfsStats {
  const rq = prog.perCpu('runqueues', cpu);
  const cfs = rq.member('cfs');
  const avg = cfs.member('avg');
  const curr = attempt(problems, `rq ${cpu} curr`, () => rq.member('curr').deref(), null);
  const idleTask = attempt(problems, `rq ${cpu} idle`, () => rq.member('idle').value(), 0n);
  const throttledGroups: string[] = [];
  // Task groups' cfs_rqs on this CPU hang off rq->leaf_cfs_rq_list (CONFIG_FAIR_GROUP_SCHED).
  if (rq.has('leaf_cfs_rq_list')) {
    for (const q of listForEachEntry(rq.member('leaf_cfs_rq_list'), 'struct cfs_rq', 'leaf_cfs_rq_list', { problems, context: `leaf cfs_rqs of CPU ${cpu}`, limit: 100000 })) {
      try {
        if (q.has('throttled') && q.member('throttled').num()) {
          let name = q.hex();
          try { name = cgroupPath(q.member('tg').member('css').member('cgroup').deref()); } catch { /* unnamed */ }
          throttledGroups.push(name);
        }
      } catch (e) {
        problems.fromError(e, `cfs_rq ${q.hex()}`);
      }
    }
  }
  return {
    cpu,
    nrRunning: rq.member('nr_running').num(),
    cfsNrRunning: cfs.member('nr_running').num(),
    // h_nr_running was renamed h_nr_queued in 6.14 (and in Debian's 6.12.95 backport).
    hNrRunning: cfs.member(cfs.has('h_nr_running') ? 'h_nr_running' : 'h_nr_queued').num(),
    rtNrRunning: rq.member('rt').member('rt_nr_running').num(),
    loadAvg: avg.member('load_avg').num(),
    runnableAvg: avg.member('runnable_avg').num(),
    utilAvg: avg.member('util_avg').num(),
    // min_vruntime gave way to zero_vruntime with the EEVDF rework (6.19; backported to Debian's 6.12.95).
    minVruntime: cfs.member(cfs.has('min_vruntime') ? 'min_vruntime' : 'zero_vruntime').value(),
    throttled: cfs.has('throttled') ? cfs.member('throttled').num() !== 0 : false,
    throttledGroups,
    currPid: curr ? curr.member('pid').num() : null,
    currComm: curr ? curr.member('comm').string() : null,
    currVruntime: curr ? curr.member('se').member('vruntime').value() : null,
    currRunNs: curr ? rq.member('clock_task').value() - curr.member('se').member('exec_start').value() : null,
    currOnCpuNs: curr ? rq.member('clock').value() - curr.member('sched_info').member('last_arrival').value() : null,
    idle: curr ? curr.address === idleTask : true,
  };
}

export interface Imbalance {
  nrRunning: number[];
  max: number;
  mean: number;
  /** max / mean of nr_running (1 = even). */
  ratio: number;
  idleCpus: number[];
  busiestCpu: number;
  /** Idle CPUs while another CPU has more than one runnable task. */
  idleWhileOverloaded: boolean;
}

export function imbalance(stats: CfsStats[]): Imbalance {
  const nr = stats.map((s) => s.nrRunning);
  const max = Math.max(0, ...nr);
  const mean = nr.length ? nr.reduce((a, b) => a + b, 0) / nr.length : 0;
  const idleCpus = stats.filter((s) => s.idle && s.nrRunning === 0).map((s) => s.cpu);
  return {
    nrRunning: nr,
    max,
    mean,
    ratio: mean > 0 ? max / mean : 0,
    idleCpus,
    busiestCpu: stats.length ? stats[nr.indexOf(max)]!.cpu : -1,
    idleWhileOverloaded: idleCpus.length > 0 && max > 1,
  };
}

/** CPUs that are online (runqueue walks skip offline ones, like crash). */
export function onlineCpus(prog: Program): number[] {
  const out: number[] = [];
  try {
    const bits = prog.object('__cpu_online_mask').member('bits');
    for (let c = 0; c < prog.nrCpuIds; c++) if ((bits.index(c >> 6).value() >> BigInt(c & 63)) & 1n) out.push(c);
  } catch {
    for (let c = 0; c < prog.nrCpuIds; c++) out.push(c);
  }
  return out;
}

export interface TaskTiming {
  /** rq->clock of the task's CPU minus sched_info.last_arrival: since it last got the CPU (ns). */
  sinceLastArrivalNs: bigint;
  /** For a task not on a CPU: rq->clock_task minus se.exec_start, about how long it has been off the CPU (ns). */
  offCpuNs: bigint | null;
  /** For the task on a CPU: how long it has been running this time (ns). */
  onCpuNs: bigint | null;
}

export function taskTiming(prog: Program, task: KObject, cpu: number, running: boolean): TaskTiming {
  const rq = prog.perCpu('runqueues', cpu);
  const since = rq.member('clock').value() - task.member('sched_info').member('last_arrival').value();
  return {
    sinceLastArrivalNs: since,
    offCpuNs: running ? null : rq.member('clock_task').value() - task.member('se').member('exec_start').value(),
    onCpuNs: running ? since : null,
  };
}
