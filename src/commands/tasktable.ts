// `tasktable`: many tasks in one table with their scheduling facts, so that
// what is abnormal stands out — state, CPU, priority and policy, on_rq,
// user/system time, voluntary/involuntary switches, time since last run,
// time in D state, cgroup. Sortable and filterable by any column; outliers
// are flagged (robust z-score over the tasks, plus states that are alarming
// in themselves: long D sleeps, long runs without a switch).

import type { Program } from '../kernel/program.js';
import { Problems, attempt } from '../kernel/problems.js';
import { forEachTask, taskCpu, taskStateCode } from '../helpers/tasks.js';
import { isActive } from '../helpers/stack.js';
import { taskTiming } from '../helpers/sched.js';
import { cgroupPath, taskDfltCgroup } from '../helpers/cgroup.js';
import { uptimeSeconds, kernelHz } from '../helpers/system.js';

export interface TaskRow {
  pid: number;
  ppid: number;
  comm: string;
  task: string;
  st: string;
  cpu: number;
  prio: number;
  policy: string;
  onRq: number;
  utimeS: number;
  stimeS: number;
  nvcsw: number;
  nivcsw: number;
  /** Seconds since the task last got a CPU. */
  lastRunS: number;
  /** Seconds in D state so far (hung-task detector's view: since last_switch_time), or null. */
  dStateS: number | null;
  /** Seconds running without a switch, for tasks on a CPU. */
  runningS: number | null;
  cgroup: string;
  flags: string[];
}

export interface TasktableOptions {
  sort?: string;
  filter?: string[];
  outliersOnly?: boolean;
  limit?: number;
}

export interface TasktableData {
  rows: TaskRow[];
  columns: string[];
  outliers: number;
  /** Tasks by state (ST) over the whole table, before filters: the state histogram. */
  states: Record<string, number>;
  problems: Problems['list'];
}

// SCHED_NORMAL 0, SCHED_FIFO 1, SCHED_RR 2, SCHED_BATCH 3, SCHED_IDLE 5, SCHED_DEADLINE 6 (uapi/linux/sched.h).
const POLICIES: Record<number, string> = { 0: 'NORMAL', 1: 'FIFO', 2: 'RR', 3: 'BATCH', 5: 'IDLE', 6: 'DEADLINE' };

export const TASKTABLE_COLUMNS: Array<[keyof TaskRow, string]> = [
  ['pid', 'PID'], ['ppid', 'PPID'], ['st', 'ST'], ['cpu', 'CPU'], ['prio', 'PRIO'], ['policy', 'POLICY'], ['onRq', 'ON_RQ'],
  ['utimeS', 'UTIME'], ['stimeS', 'STIME'], ['nvcsw', 'NVCSW'], ['nivcsw', 'NIVCSW'], ['lastRunS', 'LASTRUN'], ['dStateS', 'D_TIME'],
  ['runningS', 'RUNNING'], ['cgroup', 'CGROUP'], ['comm', 'COMM'],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Flag values far above the rest: at least `floor` (so idle noise never
 * counts) and either a robust z-score (median/MAD, on log1p-scaled values)
 * above 3.5 or, when most tasks sit at zero and MAD is 0, more than five
 * times the 90th percentile.
 */
function robustFlags(rows: TaskRow[], key: 'utimeS' | 'stimeS' | 'nvcsw' | 'nivcsw', label: string, floor: number): void {
  const raw = rows.map((r) => Math.max(0, r[key]));
  const vals = raw.map((v) => Math.log1p(v));
  const med = median(vals);
  const mad = median(vals.map((v) => Math.abs(v - med)));
  const sorted = [...raw].sort((a, b) => a - b);
  const p90 = sorted[Math.floor(0.9 * (sorted.length - 1))] ?? 0;
  rows.forEach((r, i) => {
    if (raw[i]! < floor) return;
    const far = mad > 0 ? (0.6745 * (vals[i]! - med)) / mad > 3.5 : raw[i]! > 5 * p90;
    if (far) r.flags.push(`${label} high`);
  });
}

export function collectTasktable(prog: Program, opts: TasktableOptions = {}): TasktableData {
  const problems = new Problems();
  const hz = attempt(problems, 'HZ', () => kernelHz(prog), 250);
  const jiffies = attempt(problems, 'jiffies', () => prog.readU64(prog.symbol('jiffies')), 0n);
  const uptime = attempt(problems, 'uptime', () => uptimeSeconds(prog), 0);
  const hungTimeout = attempt(problems, 'hung task timeout', () => prog.object('sysctl_hung_task_timeout_secs').num(), 120) || 120;
  const rows: TaskRow[] = [];
  for (const t of forEachTask(prog, problems)) {
    try {
      const cpu = taskCpu(t);
      const running = isActive(prog, t);
      const timing = taskTiming(prog, t, cpu, running);
      const st = taskStateCode(t);
      // last_switch_time: jiffies when khungtaskd last saw the task's switch count change (CONFIG_DETECT_HUNG_TASK).
      let dState: number | null = null;
      if (st === 'UN' && t.has('last_switch_time')) {
        const lst = t.member('last_switch_time').value();
        dState = lst ? Number(jiffies - lst) / hz : Number(timing.offCpuNs ?? 0n) / 1e9;
      } else if (st === 'UN') dState = Number(timing.offCpuNs ?? 0n) / 1e9;
      const row: TaskRow = {
        pid: t.member('pid').num(),
        ppid: t.member('pid').num() === 0 ? 0 : attempt(problems, 'parent', () => t.member('real_parent').member('pid').num(), 0),
        comm: t.member('comm').string(),
        task: t.hex(),
        st,
        cpu,
        prio: t.member('prio').num(),
        policy: POLICIES[t.member('policy').num()] ?? String(t.member('policy').num()),
        onRq: t.member('on_rq').num(),
        utimeS: Number(t.member('utime').value()) / 1e9,
        stimeS: Number(t.member('stime').value()) / 1e9,
        nvcsw: t.member('nvcsw').num(),
        nivcsw: t.member('nivcsw').num(),
        lastRunS: Math.max(0, Number(timing.sinceLastArrivalNs) / 1e9),
        dStateS: dState,
        runningS: timing.onCpuNs === null ? null : Number(timing.onCpuNs) / 1e9,
        cgroup: attempt(problems, 'cgroup', () => cgroupPath(taskDfltCgroup(t)), '?'),
        flags: [],
      };
      rows.push(row);
    } catch (e) {
      problems.fromError(e, `task ${t.hex()}`);
    }
  }
  // Alarming on their own: D sleeps past half the hung-task timeout, runs of several seconds without a switch.
  for (const r of rows) {
    if (r.dStateS !== null && r.dStateS >= Math.min(hungTimeout / 2, 5)) r.flags.push(`D for ${r.dStateS.toFixed(1)} s`);
    if (r.runningS !== null && r.runningS >= 2 && r.comm !== 'swapper' && !r.comm.startsWith('swapper/')) r.flags.push(`running ${r.runningS.toFixed(1)} s without a switch`);
    // Queued but not running for seconds (idle tasks are always "runnable": skip pid 0).
    if (r.pid !== 0 && r.st === 'RU' && r.onRq && r.runningS === null && r.lastRunS >= 2) r.flags.push(`runnable, waiting ${r.lastRunS.toFixed(1)} s for a CPU`);
  }
  const floors = [['utimeS', 'utime', 1], ['stimeS', 'stime', 1], ['nvcsw', 'voluntary switches', 1000], ['nivcsw', 'involuntary switches', 1000]] as const;
  for (const [k, label, floor] of floors) robustFlags(rows, k, label, floor);
  void uptime;
  let out = rows;
  for (const f of opts.filter ?? []) out = out.filter(filterFn(f));
  if (opts.outliersOnly) out = out.filter((r) => r.flags.length);
  if (opts.sort) {
    const desc = opts.sort.startsWith('-');
    const key = columnKey(opts.sort.replace(/^-/, ''));
    out = [...out].sort((a, b) => {
      const x = a[key] ?? -Infinity;
      const y = b[key] ?? -Infinity;
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return desc ? -c : c;
    });
  }
  if (opts.limit) out = out.slice(0, opts.limit);
  const states: Record<string, number> = {};
  for (const r of rows) states[r.st] = (states[r.st] ?? 0) + 1;
  return { rows: out, columns: TASKTABLE_COLUMNS.map(([, h]) => h), outliers: rows.filter((r) => r.flags.length).length, states, problems: problems.list };
}

function columnKey(name: string): keyof TaskRow {
  const hit = TASKTABLE_COLUMNS.find(([k, h]) => h.toLowerCase() === name.toLowerCase() || k.toLowerCase() === name.toLowerCase());
  if (!hit) throw new Error(`unknown column ${name}; columns: ${TASKTABLE_COLUMNS.map(([, h]) => h).join(' ')}`);
  return hit[0];
}

/** "ST=UN", "CPU=1", "LASTRUN>5", "COMM~kworker" */
function filterFn(expr: string): (r: TaskRow) => boolean {
  const m = /^(\w+)\s*(=|!=|>=|<=|>|<|~)\s*(.*)$/.exec(expr);
  if (!m) throw new Error(`bad filter ${expr}: use COLUMN=VALUE, COLUMN>NUMBER, COLUMN~TEXT`);
  const key = columnKey(m[1]!);
  const op = m[2]!;
  const want = m[3]!;
  return (r) => {
    const v = r[key];
    if (op === '~') return String(v).includes(want);
    if (op === '=' ) return String(v) === want;
    if (op === '!=') return String(v) !== want;
    const n = typeof v === 'number' ? v : Number(v);
    const w = Number(want);
    return op === '>' ? n > w : op === '<' ? n < w : op === '>=' ? n >= w : n <= w;
  };
}

const f = (v: number | null, d = 2) => (v === null ? '-' : v.toFixed(d));

export function renderTasktable(d: TasktableData): string {
  const rows = d.rows.map((r) => [
    String(r.pid), String(r.ppid), r.st, String(r.cpu), String(r.prio), r.policy, String(r.onRq), f(r.utimeS), f(r.stimeS), String(r.nvcsw), String(r.nivcsw),
    f(r.lastRunS), f(r.dStateS, 1), f(r.runningS), r.cgroup, r.comm, r.flags.length ? `! ${r.flags.join('; ')}` : '',
  ]);
  const head = [...d.columns, 'OUTLIER'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const left = new Set([2, 5, 14, 15, 16]);
  const line = (r: string[]) => r.map((c, i) => (left.has(i) ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line), '', `${d.rows.length} tasks, ${d.outliers} flagged as outliers (times in seconds)`].join('\n') + '\n';
}
