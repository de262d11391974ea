// The locks family: for every task blocked in D state, which lock it waits
// on, who holds that lock and what the holder is doing, and the
// holder → lock → holder chains with their cycles (deadlocks). This is
// what tells one hung-task panic from another: khungtaskd reports them all
// from the same place.

import type { Program } from '../src/kernel/program.js';
import { Problems, attempt } from '../src/kernel/problems.js';
import { blockedTasks } from '../src/helpers/locks.js';
import { backtrace } from '../src/helpers/stack.js';
import { dataJson } from '../src/util/datafile.js';
import { normalizeComm, topFrames, round3 } from './normalize.js';
import { frameFunction } from './trace.js';
import { isGenericFrame } from './generic.js';

export interface LockHolder {
  comm: string;
  pid: number;
  state: string;
  /** The holder's top frames, scheduling and waiting machinery left out. */
  frames: string[];
  /** Seconds since the holder last ran (blocked/sleeping), or how long it has been running. */
  offCpuS: number | null;
  onCpuS: number | null;
}

export interface LockEntry {
  /** The lock's symbol (lab_mutex, cgroup_mutex), or null for a lock inside a heap object. */
  name: string | null;
  /** The module the lock's symbol belongs to, null for vmlinux or a heap lock. */
  module: string | null;
  kind: string;
  holder: LockHolder | null;
  waiters: number;
  /** Waiters' task names (instance numbers removed), sorted, unique. */
  waiterComms: string[];
  /** How an rwsem was held: for read (by readers) or for write; absent for other locks and in signatures made before it was recorded. */
  held?: 'read' | 'write';
  /** What the waiters wait to take it for (an rwsem's: read, write), sorted, unique; absent when the waiter records do not say. */
  waitFor?: string[];
}

export interface LocksPart {
  /** Tasks in D state. */
  blocked: number;
  /** What the blocked tasks wait for, by kind (mutex, rwsem, io, completion, ...). */
  waitKinds: Record<string, number>;
  /** Locks with waiters, most waited-on first. */
  locks: LockEntry[];
  /** Holder chains longer than one link, as "comm -lock-> comm ...". */
  chains: Array<{ links: string[]; cycle: boolean }>;
  deadlock: boolean;
}

interface FeatureFrames {
  holderSkip: string[];
  holderPrimitive: string[];
  stuckKinds: string[];
  stuckPrimitive: string[];
}

let primitiveRe: RegExp | null = null;

/** One regular expression for a list of them; an empty list matches nothing (not, as new RegExp('') would, everything). */
const anyOf = (list: string[]): RegExp => (list.length ? new RegExp(list.join('|')) : /(?!)/);

/** The blocking primitive a holder's stack (as extractLocks writes it) starts with — schedule_timeout, wait_for_completion, mutex_lock… — or null when its holder was not blocked in one. */
export function blockingPrimitive(frames: readonly string[]): string | null {
  primitiveRe ??= anyOf(dataJson<FeatureFrames>('features/data/families.json').holderPrimitive);
  const f = frames[0];
  return f !== undefined && primitiveRe.test(frameFunction(f)) ? frameFunction(f) : null;
}

let stuckRe: RegExp | null = null;

/**
 * For a stuck CPU (a crash kind in stuckKinds), the lock primitive its stack is spinning in —
 * _raw_spin_lock, queued_read_lock_slowpath… — the outermost such frame above the first frame
 * that is not generic machinery; null when the stuck code spins on its own, undefined when the
 * crash is not a stuck CPU (nothing to say).
 */
export function stuckPrimitive(kind: string | null, frames: readonly string[]): string | null | undefined {
  const rules = dataJson<FeatureFrames>('features/data/families.json');
  if (!kind || !rules.stuckKinds.includes(kind)) return undefined;
  stuckRe ??= anyOf(rules.stuckPrimitive);
  let found: string | null = null;
  for (const f of frames) {
    const fn = frameFunction(f);
    if (stuckRe.test(fn)) found = fn;
    else if (!isGenericFrame(fn)) break;
  }
  return found;
}

/** The locks part, and the pids involved (blocked tasks and lock holders) for the cgroup family. */
export function extractLocks(prog: Program, problems: Problems): { part: LocksPart; involved: number[] } {
  const rep = blockedTasks(prog);
  problems.list.push(...rep.problems);
  const rules = dataJson<FeatureFrames>('features/data/families.json');
  const skip = anyOf(rules.holderSkip);
  const keep = (primitiveRe ??= anyOf(rules.holderPrimitive));
  const waitKinds: Record<string, number> = {};
  for (const b of rep.blocked) waitKinds[b.waitKind] = (waitKinds[b.waitKind] ?? 0) + 1;
  const byLock = new Map<string, LockEntry>();
  for (const b of rep.blocked) {
    if (!b.lock) continue;
    const key = `${b.lock.kind}:${b.lock.address}`;
    let e = byLock.get(key);
    if (!e) {
      let holder: LockHolder | null = null;
      if (b.holder) {
        const h = b.holder;
        const frames = attempt(problems, `stack of lock holder ${h.pid}`, () => {
          const task = prog.objectAt('struct task_struct', BigInt('0x' + h.task.replace(/^0x/, '')));
          const bt = backtrace(prog, task);
          return topFrames(bt.frames.filter((f) => f.reliable && f.function).map((f) => ({ fn: f.function!, module: f.module })), skip, 6, keep);
        }, [] as string[]);
        holder = {
          comm: h.comm, pid: h.pid, state: h.state, frames,
          offCpuS: h.offCpuS === null ? null : round3(h.offCpuS), onCpuS: h.onCpuS === null ? null : round3(h.onCpuS),
        };
      }
      const named = b.lock.name ? /^(\S+)(?: \[([^\]]+)\])?$/.exec(b.lock.name) : null;
      e = { name: named ? named[1]! : b.lock.name, module: named?.[2] ?? null, kind: b.lock.kind, holder, waiters: 0, waiterComms: [], ...(b.lock.held ? { held: b.lock.held } : {}) };
      byLock.set(key, e);
    }
    e.waiters++;
    if (b.waitType && !(e.waitFor ??= []).includes(b.waitType)) e.waitFor.push(b.waitType);
    const c = normalizeComm(b.task.comm);
    if (!e.waiterComms.includes(c)) e.waiterComms.push(c);
  }
  const locks = [...byLock.values()];
  for (const l of locks) {
    l.waiterComms.sort();
    l.waitFor?.sort();
  }
  locks.sort((a, b) => b.waiters - a.waiters || (a.name ?? '~').localeCompare(b.name ?? '~') || a.kind.localeCompare(b.kind));
  // A heap lock has no name; its address differs from dump to dump, so it reads "-lock->".
  const render = (links: Array<{ comm: string; lock?: string }>) =>
    links.map((l) => normalizeComm(l.comm) + (l.lock ? ` -${/^0x/.test(l.lock) ? 'lock' : l.lock}->` : ''));
  const seen = new Set<string>();
  const chains: LocksPart['chains'] = [];
  for (const c of [...rep.deadlocks, ...rep.chains]) {
    if (c.links.length < 3 && !c.cycle) continue;
    const links = render(c.links);
    const k = links.join(' ') + c.cycle;
    if (seen.has(k)) continue;
    seen.add(k);
    chains.push({ links, cycle: c.cycle });
  }
  chains.sort((a, b) => Number(b.cycle) - Number(a.cycle) || b.links.length - a.links.length || a.links.join(' ').localeCompare(b.links.join(' ')));
  const involved = [...new Set(rep.blocked.flatMap((b) => [b.task.pid, ...(b.holder ? [b.holder.pid] : [])]))].sort((a, b) => a - b);
  const part: LocksPart = {
    blocked: rep.blocked.length,
    waitKinds: Object.fromEntries(Object.entries(waitKinds).sort(([a], [b]) => a.localeCompare(b))),
    locks,
    chains: chains.slice(0, 8),
    deadlock: rep.deadlocks.length > 0,
  };
  return { part, involved };
}
