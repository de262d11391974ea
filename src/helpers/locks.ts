// Sleeping locks and who holds them. For a lock: its kind, state, owner and
// waiters in queue order (mutex: owner & ~MUTEX_FLAGS, waiters on
// wait_list; rwsem: count bits and owner; semaphore: count and waiters;
// qspinlock: locked/pending/tail — no owner is recorded). For a blocked
// task: which lock it waits on — the kind from its stack frames, the lock
// itself by finding its waiter record on its stack and following that
// record's list to the lock's wait_list (the idea of drgn-tools'
// get_lock_from_frame, done from the waiter side) — and the chains
// holder → lock → holder, with cycles reported as deadlocks.

import type { Program } from '../kernel/program.js';
import type { KObject } from '../kernel/object.js';
import { Problems, attempt } from '../kernel/problems.js';
import { listNodes } from '../kernel/iter.js';
import { dataJson } from '../util/datafile.js';
import { backtrace, frameFunctions, isActive } from './stack.js';
import { forEachTask, taskCpu, taskStateCode, taskStateLetter } from './tasks.js';
import { taskTiming } from './sched.js';
import { readUpTo } from '../kernel/unwind.js';

export type LockKind = 'mutex' | 'rwsem' | 'semaphore' | 'spinlock';

interface LockFrameData {
  kinds: Array<{ kind: string; frames: string[] }>;
  waiterTypes: Record<string, { lock: string; waiter: string }>;
}

const lockData = () => dataJson<LockFrameData>('src/helpers/data/lock-frames.json');

/** Whether a blocked task's wait kind (BlockedTask.waitKind) is a sleeping lock with a waiter record: mutex, rwsem, semaphore. */
export function isLockWait(kind: string): boolean {
  return Object.hasOwn(lockData().waiterTypes, kind);
}

export interface TaskRef {
  pid: number;
  comm: string;
  task: string;
  state: string;
  cpu: number;
  /** Seconds since it last got a CPU. */
  sinceLastRunS: number | null;
  /** Seconds off the CPU (sleeping/blocked), when not running. */
  offCpuS: number | null;
  /** Seconds on the CPU this time, when running. */
  onCpuS: number | null;
}

export function taskRef(task: KObject): TaskRef {
  const prog = task.prog;
  const cpu = taskCpu(task);
  const running = isActive(prog, task);
  const t = attempt(new Problems(), 'timing', () => taskTiming(prog, task, cpu, running), null);
  const s = (ns: bigint | null | undefined) => (ns === null || ns === undefined ? null : Math.round(Number(ns) / 1e6) / 1e3);
  return {
    pid: task.member('pid').num(), comm: task.member('comm').string(), task: task.hex(), state: taskStateCode(task), cpu,
    sinceLastRunS: s(t?.sinceLastArrivalNs), offCpuS: s(t?.offCpuNs), onCpuS: s(t?.onCpuNs),
  };
}

export interface LockInfo {
  address: string;
  name: string | null;
  kind: LockKind;
  locked: boolean;
  state: string;
  holder: TaskRef | null;
  /** For an rwsem held by readers: how many. */
  readers?: number;
  /** For a held rwsem: held for read (by readers) or for write (from the count word). */
  mode?: 'read' | 'write';
  /** The holder's stack (function names) when known. */
  holderStack?: string[];
  waiters: Array<TaskRef & { waitType?: string }>;
  problems: Problems['list'];
}

function lockName(prog: Program, addr: bigint): string | null {
  const s = prog.symbolize(addr);
  if (!s) return null;
  return `${s.name}${s.offset ? `+0x${s.offset.toString(16)}` : ''}${s.module ? ` [${s.module}]` : ''}`;
}

function waitersOf(lock: KObject, waiterType: string, problems: Problems, extra?: (w: KObject) => string): Array<TaskRef & { waitType?: string }> {
  const out: Array<TaskRef & { waitType?: string }> = [];
  const prog = lock.prog;
  const wt = prog.type(waiterType);
  const off = BigInt(prog.offsetOf(wt, 'list'));
  for (const node of listNodes(lock.member('wait_list'), { problems, context: `wait_list of ${lock.hex()}`, limit: 100000 })) {
    const w = prog.objectAt(wt, node - off);
    try {
      out.push({ ...taskRef(w.member('task').deref()), ...(extra ? { waitType: extra(w) } : {}) });
    } catch (e) {
      problems.fromError(e, `waiter ${w.hex()}`);
    }
  }
  return out;
}

/** Mutex: owner is an atomic_long_t task pointer with flag bits (MUTEX_FLAGS 0x07) since 4.10. */
function mutexInfo(lock: KObject, problems: Problems): Omit<LockInfo, 'address' | 'name' | 'problems'> {
  const owner = lock.member('owner').value();
  const flags = owner & 7n;
  const ownerTask = owner & ~7n;
  const holder = ownerTask ? attempt(problems, 'mutex owner', () => lock.prog.objectAt('struct task_struct', ownerTask), null) : null;
  const f = [flags & 1n ? 'waiters' : '', flags & 2n ? 'handoff' : '', flags & 4n ? 'pickup' : ''].filter(Boolean);
  return {
    kind: 'mutex', locked: ownerTask !== 0n,
    state: ownerTask ? `locked${f.length ? ` (${f.join(', ')})` : ''}` : 'unlocked',
    holder: holder ? attempt(problems, 'mutex owner', () => taskRef(holder), null) : null,
    holderStack: holder ? attempt(problems, 'holder stack', () => frameFunctions(backtrace(lock.prog, holder)), undefined) : undefined,
    waiters: waitersOf(lock, 'struct mutex_waiter', problems),
  };
}

/**
 * rwsem (5.3+ layout): count bit 0 = writer locked, bit 1 = waiters, bit 2 =
 * handoff, readers from bit 8 (RWSEM_READER_SHIFT); owner & ~0x7 is the
 * writer, or the last reader when bit 0 (RWSEM_READER_OWNED) is set.
 */
function rwsemInfo(lock: KObject, problems: Problems): Omit<LockInfo, 'address' | 'name' | 'problems'> {
  const count = lock.member('count').value();
  const owner = lock.member('owner').value();
  const writer = (count & 1n) !== 0n;
  const readers = Number((count & 0x7fffffffffffff00n) >> 8n);
  const ownerTask = owner & ~7n;
  const readerOwned = (owner & 1n) !== 0n;
  // The writer holds it; or, read-locked by exactly one reader, the owner field (which every
  // down_read sets to the reader taking it; 4.20+) names that reader. With several readers it names
  // only the last of them, so no holder is claimed.
  const soleReader = !writer && readers === 1 && readerOwned;
  const holder = (writer || soleReader) && ownerTask ? attempt(problems, 'rwsem owner', () => lock.prog.objectAt('struct task_struct', ownerTask), null) : null;
  const typeName = (w: KObject) => {
    const v = w.member('type').enumName();
    return v.replace(/^RWSEM_WAITING_FOR_/, '').toLowerCase();
  };
  return {
    kind: 'rwsem', locked: writer || readers > 0,
    state: writer ? 'write-locked' : readers ? `read-locked by ${readers} reader${readers > 1 ? 's' : ''}${readerOwned && ownerTask && readers > 1 ? ' (owner field names the last reader)' : ''}` : 'unlocked',
    holder: holder ? attempt(problems, 'rwsem owner', () => taskRef(holder), null) : null,
    holderStack: holder ? attempt(problems, 'holder stack', () => frameFunctions(backtrace(lock.prog, holder)), undefined) : undefined,
    readers,
    ...(writer ? { mode: 'write' as const } : readers ? { mode: 'read' as const } : {}),
    waiters: waitersOf(lock, 'struct rwsem_waiter', problems, typeName),
  };
}

function semaphoreInfo(lock: KObject, problems: Problems): Omit<LockInfo, 'address' | 'name' | 'problems'> {
  const count = lock.member('count').num();
  return {
    kind: 'semaphore', locked: count <= 0, state: `count ${count}${count <= 0 ? ' (no slots free)' : ''}`, holder: null,
    waiters: waitersOf(lock, 'struct semaphore_waiter', problems),
  };
}

/**
 * qspinlock: locked byte (bits 0-7), pending (bit 8), tail (bits 16-31:
 * index 16-17, CPU+1 18-31). No owner is recorded (unless the kernel has
 * CONFIG_DEBUG_SPINLOCK: owner/owner_cpu); spinning CPUs are found from
 * their saved registers.
 */
function spinlockInfo(lock: KObject, problems: Problems): Omit<LockInfo, 'address' | 'name' | 'problems'> {
  const prog = lock.prog;
  const raw = prog.readU32(lock.address!);
  const locked = raw & 0xff;
  const pending = (raw >> 8) & 1;
  const tailCpu = (raw >>> 18) - 1;
  let holder: TaskRef | null = null;
  try {
    // raw_spinlock_t.owner exists only with CONFIG_DEBUG_SPINLOCK.
    const rl = lock.cast('raw_spinlock_t');
    if (rl.has('owner')) {
      const o = rl.member('owner').value();
      if (o && o !== 0xffffffffffffffffn) holder = taskRef(prog.objectAt('struct task_struct', o));
    }
  } catch { /* no debug owner */ }
  // Waiters: CPUs whose current task was interrupted inside the qspinlock slow path with this lock in rdi.
  const waiters: TaskRef[] = [];
  for (let cpu = 0; cpu < prog.nrCpuIds; cpu++) {
    try {
      const curr = prog.perCpu('runqueues', cpu).member('curr').deref();
      const bt = backtrace(prog, curr);
      const spinning = bt.frames.find((f) => f.exception && /queued_spin_lock_slowpath|_raw_spin_lock/.test(f.function ?? ''));
      if (spinning && spinning.exception!.rdi === lock.address) waiters.push(taskRef(curr));
    } catch (e) {
      problems.fromError(e, `CPU ${cpu}`);
    }
  }
  return {
    kind: 'spinlock', locked: locked !== 0,
    state: `${locked ? `locked (0x${locked.toString(16)})` : 'unlocked'}${pending ? ', pending' : ''}${tailCpu >= 0 ? `, queue tail CPU ${tailCpu}` : ''}; a qspinlock records no owner`,
    holder, waiters,
  };
}

/** Decode the lock at `addr` as `kind`. */
export function lockInfo(prog: Program, addr: bigint, kind: LockKind): LockInfo {
  const problems = new Problems();
  const types: Record<LockKind, string> = { mutex: 'struct mutex', rwsem: 'struct rw_semaphore', semaphore: 'struct semaphore', spinlock: 'spinlock_t' };
  const lock = prog.objectAt(types[kind], addr);
  const body = kind === 'mutex' ? mutexInfo(lock, problems) : kind === 'rwsem' ? rwsemInfo(lock, problems) : kind === 'semaphore' ? semaphoreInfo(lock, problems) : spinlockInfo(lock, problems);
  return { address: lock.hex(), name: lockName(prog, addr), ...body, problems: problems.list };
}

/** The lock kind of a global's declared type (src/kernel/data/globals.json), if it is a lock. */
export function kindOfType(typeName: string): LockKind | null {
  if (/struct mutex$/.test(typeName)) return 'mutex';
  if (/struct rw_semaphore$/.test(typeName)) return 'rwsem';
  if (/struct semaphore$/.test(typeName)) return 'semaphore';
  if (/spinlock_t$|raw_spinlock_t$/.test(typeName)) return 'spinlock';
  return null;
}

export interface BlockedTask {
  task: TaskRef;
  /** What the stack says it waits for: mutex, rwsem, semaphore, completion, io, sleep, ... or unknown. */
  waitKind: string;
  /** The frame that says so. */
  waitFrame: string | null;
  /** held: how an rwsem is held when the task blocked on it (read or write; from its count word). */
  lock: { address: string; name: string | null; kind: string; held?: 'read' | 'write' } | null;
  /** What this task waits to take the lock for, when the waiter record says (an rwsem waiter's type: read or write). */
  waitType?: string;
  holder: TaskRef | null;
  stack: string[];
}

export interface DependencyChain {
  /** Alternating task → lock → task ... as text. */
  links: Array<{ pid: number; comm: string; lock?: string }>;
  /** The chain came back to a task already in it: a deadlock. */
  cycle: boolean;
}

export interface BlockedReport {
  blocked: BlockedTask[];
  chains: DependencyChain[];
  deadlocks: DependencyChain[];
  problems: Problems['list'];
}

/**
 * The lock a blocked task waits on, found from the waiter record on its
 * stack: a struct {mutex,rwsem,semaphore}_waiter whose .task is this task;
 * its list runs through the lock's wait_list, the one node that is not
 * another waiter.
 */
function findWaitedLock(prog: Program, task: KObject, kind: string, tasks: Set<bigint>): bigint | null {
  const wt = lockData().waiterTypes[kind];
  if (!wt) return null;
  const waiterType = prog.type(wt.waiter);
  const offTask = BigInt(prog.offsetOf(waiterType, 'task'));
  const offList = BigInt(prog.offsetOf(waiterType, 'list'));
  const offWaitList = BigInt(prog.offsetOf(wt.lock, 'wait_list'));
  const sp = task.member('thread').member('sp').value();
  const top = task.member('stack').value() + 0x4000n;
  const buf = readUpTo(prog, sp & ~7n, Number(top - (sp & ~7n)));
  for (let o = 0; o + 8 <= buf.length; o += 8) {
    if (buf.readBigUInt64LE(o) !== task.address) continue;
    const waiter = (sp & ~7n) + BigInt(o) - offTask;
    const head = prog.objectAt('struct list_head', waiter + offList);
    // Walk the ring from the waiter's own list node; every node but one is a waiter.
    const nonWaiters: bigint[] = [];
    const problems = new Problems();
    let ok = true;
    for (const node of listNodes(head, { problems, limit: 10000 })) {
      let t: bigint;
      try {
        t = prog.readU64(node - offList + offTask);
      } catch {
        t = 0n;
      }
      if (!tasks.has(t)) nonWaiters.push(node);
    }
    if (problems.length) ok = false;
    if (ok && nonWaiters.length === 1) return nonWaiters[0]! - offWaitList;
  }
  return null;
}

export function blockedTasks(prog: Program): BlockedReport {
  const problems = new Problems();
  const all = forEachTask(prog, problems);
  const addrs = new Set(all.map((t) => t.address!));
  const data = lockData();
  const blocked: BlockedTask[] = [];
  const lockCache = new Map<string, LockInfo>();
  for (const t of all) {
    if (attempt(problems, `state of ${t.hex()}`, () => taskStateLetter(t), '?') !== 'D') continue;
    try {
      const stack = frameFunctions(backtrace(prog, t));
      const base = (f: string) => f.replace(/\.(constprop|isra|part|cold)\.?\d*$/g, '').replace(/\.(constprop|isra|part|cold)\.?\d*$/g, '');
      let waitKind = 'unknown';
      let waitFrame: string | null = null;
      for (const k of data.kinds) {
        const hit = stack.find((f) => k.frames.includes(base(f)));
        if (hit) {
          waitKind = k.kind;
          waitFrame = hit;
          break;
        }
      }
      let lock: BlockedTask['lock'] = null;
      let holder: TaskRef | null = null;
      let waitType: string | undefined;
      const addr = data.waiterTypes[waitKind] ? attempt(problems, `lock of ${t.hex()}`, () => findWaitedLock(prog, t, waitKind, addrs), null) : null;
      if (addr !== null) {
        const key = `${waitKind}:${addr}`;
        let info = lockCache.get(key);
        if (!info) {
          info = lockInfo(prog, addr, waitKind as LockKind);
          lockCache.set(key, info);
          problems.list.push(...info.problems);
        }
        lock = { address: info.address, name: info.name, kind: waitKind };
        // Readers holding an rwsem vs a writer holding it is the mechanism of a stall, not a detail.
        if (info.mode) lock.held = info.mode;
        holder = info.holder;
        const pid = t.member('pid').num();
        waitType = info.waiters.find((w) => w.pid === pid)?.waitType;
      } else if (data.waiterTypes[waitKind]) {
        problems.add(`task ${t.member('pid').num()} is in a ${waitKind} slow path but no waiter record for it was found on its stack`, t.address, 'lockinfo --blocked');
      }
      blocked.push({ task: taskRef(t), waitKind, waitFrame, lock, ...(waitType ? { waitType } : {}), holder, stack });
    } catch (e) {
      problems.fromError(e, `blocked task ${t.hex()}`);
    }
  }
  // Chains: from each blocked task follow lock → holder → the lock that holder waits on ...
  const byPid = new Map(blocked.map((b) => [b.task.pid, b]));
  const chains: DependencyChain[] = [];
  const deadlocks: DependencyChain[] = [];
  const cycleKeys = new Set<string>();
  for (const b of blocked) {
    if (!b.lock) continue;
    const links: DependencyChain['links'] = [];
    const seen = new Set<number>();
    let cur: BlockedTask | undefined = b;
    let cycle = false;
    for (let n = 0; cur && n < 64; n++) {
      if (seen.has(cur.task.pid)) {
        cycle = true;
        links.push({ pid: cur.task.pid, comm: cur.task.comm });
        break;
      }
      seen.add(cur.task.pid);
      if (!cur.lock) {
        links.push({ pid: cur.task.pid, comm: cur.task.comm });
        break;
      }
      links.push({ pid: cur.task.pid, comm: cur.task.comm, lock: cur.lock.name ?? cur.lock.address });
      if (!cur.holder) {
        break;
      }
      const h: TaskRef = cur.holder;
      const next = byPid.get(h.pid);
      if (!next) {
        links.push({ pid: h.pid, comm: h.comm });
        break;
      }
      cur = next;
    }
    const chain = { links, cycle };
    chains.push(chain);
    if (cycle) {
      const pids = links.slice(0, -1).map((l) => l.pid).sort((a, c) => a - c).join(',');
      if (!cycleKeys.has(pids)) {
        cycleKeys.add(pids);
        deadlocks.push(chain);
      }
    }
  }
  return { blocked, chains, deadlocks, problems: problems.list };
}
