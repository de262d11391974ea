// Tasks: walking every task, and the per-task facts everything else asks
// for (pid, comm, CPU, state). The walk follows libdrgn's task iterator:
// thread-group leaders on init_task.tasks, then each leader's threads on
// signal->thread_head; idle tasks are on no list, so they come from each
// CPU's runqueue (rq->idle), as crash adds them.

import type { Program } from '../kernel/program.js';
import type { KObject } from '../kernel/object.js';
import { listForEachEntry } from '../kernel/iter.js';
import { Problems, ReadFault } from '../kernel/problems.js';
import { dataJson } from '../util/datafile.js';

const PF_KTHREAD = 0x00200000n;

interface TaskStateData {
  letters: Record<string, string>;
  bits: Record<string, number>;
}

/** Every task (threads included) plus the idle task of each CPU, each once. */
export function forEachTask(prog: Program, problems = new Problems()): KObject[] {
  const key = 'tasks:all';
  const cached = prog.cache.get(key) as { tasks: KObject[]; problems: Problems } | undefined;
  if (cached) {
    problems.list.push(...cached.problems.list);
    return cached.tasks;
  }
  const own = new Problems();
  const out: KObject[] = [];
  const seen = new Set<bigint>();
  const add = (t: KObject) => {
    if (!seen.has(t.address!)) {
      seen.add(t.address!);
      out.push(t);
    }
  };
  const initTask = prog.object('init_task');
  add(initTask);
  // signal->thread_head / task->thread_node exist since 3.14; older kernels link threads on task->thread_group.
  const hasThreadHead = prog.hasMember('struct signal_struct', 'thread_head');
  for (const leader of listForEachEntry(initTask.member('tasks'), 'struct task_struct', 'tasks', { problems: own, context: 'task list (init_task.tasks)' })) {
    add(leader);
    try {
      const head = hasThreadHead ? leader.member('signal').member('thread_head') : leader.member('thread_group');
      const member = hasThreadHead ? 'thread_node' : 'thread_group';
      for (const t of listForEachEntry(head, 'struct task_struct', member, { problems: own, context: `threads of pid ${safePid(leader)}`, limit: 1 << 20 })) add(t);
    } catch (e) {
      own.fromError(e, `threads of task ${leader.hex()}`);
    }
  }
  for (let cpu = 0; cpu < prog.nrCpuIds; cpu++) {
    try {
      const idle = prog.perCpu('runqueues', cpu).member('idle');
      if (!idle.isNull()) add(idle.deref());
    } catch (e) {
      own.fromError(e, `idle task of CPU ${cpu}`);
    }
  }
  // Idle tasks first by CPU, then by pid (the order crash's ps uses).
  out.sort((a, b) => {
    const pa = safePid(a);
    const pb = safePid(b);
    if (pa !== pb) return pa - pb;
    return taskCpuSafe(a) - taskCpuSafe(b);
  });
  prog.cache.set(key, { tasks: out, problems: own });
  problems.list.push(...own.list);
  return out;
}

function safePid(t: KObject): number {
  try {
    return t.member('pid').num();
  } catch {
    return -1;
  }
}

function taskCpuSafe(t: KObject): number {
  try {
    return taskCpu(t);
  } catch {
    return -1;
  }
}

export function taskPid(t: KObject): number {
  return t.member('pid').num();
}

export function taskTgid(t: KObject): number {
  return t.member('tgid').num();
}

export function taskComm(t: KObject): string {
  return t.member('comm').string();
}

/** The CPU a task last ran on: thread_info.cpu since 5.16 (commit bcf9033e5449), task->cpu before. */
export function taskCpu(t: KObject): number {
  if (t.has('cpu')) return t.member('cpu').num();
  return t.member('thread_info').member('cpu').num();
}

/** task->__state (5.14+, commit 2f064a59a11f) or task->state. */
export function taskRawState(t: KObject): number {
  return (t.has('__state') ? t.member('__state') : t.member('state')).num();
}

export function isKernelThread(t: KObject): boolean {
  return (t.member('flags').value() & PF_KTHREAD) !== 0n;
}

/** The kernel's own state letters, read from task_state_array ("R (running)", "S (sleeping)", ...). */
function stateLetters(prog: Program): string[] {
  const cached = prog.cache.get('task_state_array') as string[] | undefined;
  if (cached) return cached;
  const letters: string[] = [];
  try {
    const base = prog.symbol('task_state_array');
    for (let i = 0; i < 16; i++) {
      const p = prog.readU64(base + BigInt(i * 8));
      if (p === 0n) break;
      const s = prog.readCString(p, 32);
      if (!/^[A-Za-z] \(/.test(s)) break;
      letters.push(s[0]!);
    }
  } catch {
    // fall through to the 4.14+ default below
  }
  const result = letters.length ? letters : ['R', 'S', 'D', 'T', 't', 'X', 'Z', 'P', 'I'];
  prog.cache.set('task_state_array', result);
  return result;
}

function fls(v: number): number {
  return v === 0 ? 0 : 32 - Math.clz32(v);
}

/**
 * The state letter the kernel would print (task_state_index() in
 * include/linux/sched.h): (state | exit_state) & TASK_REPORT, with TASK_IDLE
 * (UNINTERRUPTIBLE|NOLOAD) reported as 'I'.
 */
export function taskStateLetter(t: KObject): string {
  const prog = t.prog;
  const letters = stateLetters(prog);
  const bits = dataJson<TaskStateData>('src/helpers/data/task-states.json').bits;
  const state = taskRawState(t);
  const exitState = t.member('exit_state').num();
  // TASK_REPORT covers the bits of every letter but the last ('I', TASK_REPORT_IDLE).
  const reportMask = (1 << (letters.length - 2)) - 1;
  let v = (state | exitState) & reportMask;
  if (letters.includes('I') && state === (bits.TASK_UNINTERRUPTIBLE! | bits.TASK_NOLOAD!)) v = reportMask + 1;
  const idx = fls(v);
  return letters[idx] ?? '?';
}

/** crash's two-letter state (RU, IN, UN, ID, ZO, ...). */
export function taskStateCode(t: KObject): string {
  const data = dataJson<TaskStateData>('src/helpers/data/task-states.json');
  const state = taskRawState(t);
  if (state & data.bits.TASK_NEW!) return 'NE';
  if (state & data.bits.TASK_WAKING! && state !== 0) return 'WA';
  const letter = taskStateLetter(t);
  return data.letters[letter] ?? letter;
}

export function rqCurr(prog: Program, cpu: number): KObject {
  return prog.perCpu('runqueues', cpu).member('curr').deref();
}

/** Find a task by pid (first match, threads included), or by task_struct address. */
export function findTask(prog: Program, spec: string | number): KObject {
  const tasks = forEachTask(prog);
  if (typeof spec === 'string' && /^(0x)?[0-9a-f]{9,16}$/i.test(spec)) {
    const addr = BigInt(spec.startsWith('0x') ? spec : '0x' + spec);
    const t = tasks.find((x) => x.address === addr);
    if (t) return t;
    return prog.objectAt('struct task_struct', addr);
  }
  const pid = Number(spec);
  const t = tasks.find((x) => safePid(x) === pid);
  if (!t) throw new ReadFault(`no task with pid ${spec}`);
  return t;
}
