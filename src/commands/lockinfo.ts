// `lockinfo`: a lock's kind, state, holder (with how long it has run or
// slept, and its stack) and waiters in queue order — `lockinfo <dump>
// cgroup_mutex` — or, with --blocked, every task in D state: the lock it
// waits on, who holds it, the holder → lock → holder chains and any cycle
// (a deadlock).

import type { Program } from '../kernel/program.js';
import { Problems } from '../kernel/problems.js';
import { ReadFault } from '../kernel/problems.js';
import { blockedTasks, kindOfType, lockInfo, type BlockedReport, type LockInfo, type LockKind, type TaskRef } from '../helpers/locks.js';
import { listNodes } from '../kernel/iter.js';
import { typeName } from '../kernel/types.js';

export interface LockinfoOptions {
  lock?: string;
  type?: LockKind;
  blocked?: boolean;
}

export type LockinfoData =
  | { mode: 'lock'; lock: LockInfo; problems: Problems['list'] }
  | { mode: 'blocked'; report: BlockedReport; problems: Problems['list'] };

/** A plausible lock of this kind at addr: its wait_list is a sound ring. */
function looksLike(prog: Program, addr: bigint, kind: LockKind): boolean {
  const t = { mutex: 'struct mutex', rwsem: 'struct rw_semaphore', semaphore: 'struct semaphore', spinlock: 'spinlock_t' }[kind];
  if (kind === 'spinlock') return true;
  const problems = new Problems();
  const head = prog.objectAt(t, addr).member('wait_list');
  let n = 0;
  for (const node of listNodes(head, { problems, limit: 1000 })) {
    if (prog.readU64(node + 8n) === 0n) return false;
    n++;
  }
  return problems.length === 0 && n < 1000;
}

function resolveLock(prog: Program, spec: string, kind: LockKind | undefined): { addr: bigint; kind: LockKind } {
  let addr: bigint;
  let declared: LockKind | null = null;
  if (/^(0x)?[0-9a-f]{8,16}$/i.test(spec)) addr = BigInt(spec.startsWith('0x') ? spec : '0x' + spec);
  else {
    const s = prog.lookupAnySymbol(spec);
    if (!s) throw new ReadFault(`no symbol ${spec} in the kernel or its modules`);
    addr = s.address;
    const t = prog.globalType(spec);
    if (t) declared = kindOfType(typeName(t));
  }
  if (kind) return { addr, kind };
  if (declared) return { addr, kind: declared };
  // Not a known global: a blocked task may be waiting on it; otherwise try the layouts.
  const report = blockedTasks(prog);
  const hit = report.blocked.find((b) => b.lock && BigInt('0x' + b.lock.address) === addr);
  if (hit) return { addr, kind: hit.lock!.kind as LockKind };
  for (const k of ['mutex', 'rwsem', 'semaphore'] as LockKind[]) if (looksLike(prog, addr, k)) return { addr, kind: k };
  throw new ReadFault(`cannot tell what kind of lock ${spec} is: pass --type mutex|rwsem|semaphore|spinlock`);
}

export function collectLockinfo(prog: Program, opts: LockinfoOptions): LockinfoData {
  if (opts.lock && !opts.blocked) {
    const { addr, kind } = resolveLock(prog, opts.lock, opts.type);
    const lock = lockInfo(prog, addr, kind);
    return { mode: 'lock', lock, problems: lock.problems };
  }
  const report = blockedTasks(prog);
  return { mode: 'blocked', report, problems: report.problems };
}

const secs = (v: number | null) => (v === null ? '?' : `${v.toFixed(3)} s`);
const who = (t: TaskRef) => `PID: ${String(t.pid).padEnd(6)} TASK: ${t.task}  COMMAND: "${t.comm}"  ST: ${t.state}  CPU: ${t.cpu}`;
const timing = (t: TaskRef) =>
  t.onCpuS !== null ? `running for ${secs(t.onCpuS)}` : `off CPU for ${secs(t.offCpuS)} (last ran ${secs(t.sinceLastRunS)} ago)`;

export function renderLock(l: LockInfo): string {
  const out = [`LOCK: ${l.address}${l.name ? `  (${l.name})` : ''}  TYPE: ${l.kind}  STATE: ${l.state}`];
  if (l.holder) {
    out.push(`  HOLDER: ${who(l.holder)}`);
    out.push(`          ${timing(l.holder)}`);
    if (l.holderStack?.length) out.push(`          stack: ${l.holderStack.join(' < ')}`);
  } else if (l.locked) out.push(`  HOLDER: unknown${l.kind === 'spinlock' ? ' (qspinlock keeps no owner)' : l.kind === 'semaphore' ? ' (semaphores keep no owner)' : ''}`);
  else out.push('  HOLDER: none (unlocked)');
  out.push(`  WAITERS: ${l.waiters.length ? `${l.waiters.length}, in queue order` : 'none'}`);
  l.waiters.forEach((w, i) => out.push(`    ${i + 1}. ${who(w)}${w.waitType ? `  [${w.waitType}]` : ''}  ${timing(w)}`));
  return out.join('\n') + '\n';
}

export function renderBlocked(r: BlockedReport): string {
  const out = [`BLOCKED TASKS: ${r.blocked.length} in D state`];
  for (const b of r.blocked) {
    out.push(`  ${who(b.task)}`);
    const what = b.lock
      ? `waits on ${b.lock.kind} ${b.lock.name ?? ''} (${b.lock.address})`.replace('  ', ' ')
      : `waits: ${b.waitKind}${b.waitFrame ? ` (in ${b.waitFrame})` : ''}`;
    out.push(`      ${what}, blocked ${secs(b.task.offCpuS)}`);
    if (b.lock) out.push(`      held by: ${b.holder ? `PID ${b.holder.pid} "${b.holder.comm}" (${b.holder.state}, ${timing(b.holder)})` : 'unknown'}`);
  }
  if (r.chains.length) {
    out.push('CHAINS:');
    const seen = new Set<string>();
    for (const c of r.chains) {
      const text = c.links.map((l) => `${l.pid} ${l.comm}${l.lock ? ` -> [${l.lock}] ->` : ''}`).join(' ');
      if (seen.has(text)) continue;
      seen.add(text);
      out.push(`  ${text}${c.cycle ? '  (CYCLE)' : ''}`);
    }
  }
  out.push(`DEADLOCKS: ${r.deadlocks.length ? '' : 'none'}`);
  for (const d of r.deadlocks) out.push(`  ${d.links.map((l) => `${l.pid} ${l.comm}${l.lock ? ` -> [${l.lock}]` : ''}`).join(' -> ')}`);
  return out.join('\n') + '\n';
}

export function renderLockinfo(d: LockinfoData): string {
  return d.mode === 'lock' ? renderLock(d.lock) : renderBlocked(d.report);
}
