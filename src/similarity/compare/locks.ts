// The locks family: what the blocked tasks wait on and who holds it. The
// same lock (by name and type; a lock in a heap object has no name, so only
// its type counts), the holder's stack (aligned like panic stacks: the
// blocking primitive a holder sleeps in is part of it), the holder's state,
// who waits, what kinds of waits, and whether the holders form chains or a
// deadlock cycle. Two dumps with no blocked task say nothing here.

import { alignStacks } from '../frames.js';
import { lockKey } from '../view.js';
import { blockingPrimitive } from '../../../features/locks.js';
import { isLockWait } from '../../helpers/locks.js';
import { frameFunction } from '../../../features/trace.js';
import type { SignatureView } from '../view.js';
import { absent, jaccard, mix, nameScale, stackRarity, type CompareContext, type FamilyScore } from './types.js';

type Locks = NonNullable<SignatureView['locks']>;
type Lock = Locks['locks'][number];

const lockName = (l: Lock) => `${l.kind} ${l.name ?? '(heap lock)'}${l.module ? ` [${l.module}]` : ''}`;

function lockSim(a: Lock, b: Lock): number {
  if (a.kind !== b.kind) return 0;
  if (a.name && b.name) return a.name === b.name ? 1 : 0.25;
  return a.name === b.name ? 0.7 : 0.25;
}

/**
 * How the lock is held and what its waiters want: an rwsem held for write with
 * readers queued is a different stall from one held by a reader that starves a
 * writer, whatever the lock is called. Null when either side does not say
 * (a mutex, or a signature made before this was recorded).
 */
function holdMode(a: Lock, b: Lock, agreed: string[], differed: string[]): number | null {
  const parts: number[] = [];
  if (a.held && b.held) {
    parts.push(Number(a.held === b.held));
    (a.held === b.held ? agreed : differed).push(a.held === b.held ? `both held for ${a.held}` : `held for ${a.held} / for ${b.held}`);
  }
  if (a.waitFor?.length && b.waitFor?.length) {
    const j = jaccard(a.waitFor, b.waitFor);
    parts.push(j);
    if (j < 1) differed.push(`waiters wait to ${a.waitFor.join('+')} / to ${b.waitFor.join('+')}`);
  }
  return parts.length ? parts.reduce((x, y) => x + y, 0) / parts.length : null;
}

/** No task waits on a lock (none contended, no cycle, no wait in a lock's slow path): blocked tasks, if any, wait on something else. */
const lockless = (l: Locks) => !l.locks.length && !l.deadlock && !Object.keys(l.waitKinds).some(isLockWait);

export function compareLocks(a: SignatureView['locks'], b: SignatureView['locks'], ctx: CompareContext): FamilyScore {
  if (!a || !b) return absent('lock state not read on one side');
  if (!a.blocked && !b.blocked) return absent('no blocked task on either side');
  if (!a.blocked || !b.blocked) {
    // Blocked tasks that wait on no lock (a kthread in wait_for_completion, a task in I/O) are what
    // any busy machine has at some instant: a stray one against none is weak evidence, fading with
    // their number. A task in a lock's slow path on one side only is a real difference, whether or
    // not its lock was resolved.
    const one = a.blocked ? a : b;
    const why = `blocked tasks on one side only (${a.blocked} / ${b.blocked})`;
    if (!lockless(one)) return { score: 0, agreed: [], differed: [`${why}, waiting on a lock`] };
    return { score: ctx.params.strayBlocked / one.blocked, agreed: [], differed: [`${why}, waiting on no lock`] };
  }
  const agreed: string[] = [];
  const differed: string[] = [];
  // The most waited-on lock of each side, and its best counterpart on the other.
  const la = a.locks[0];
  const lb = b.locks[0];
  let lock: number | null = null;
  let holder: number | null = null;
  let state: number | null = null;
  let waiters: number | null = null;
  let mode: number | null = null;
  let holderNames = 1;
  if (la && lb) {
    const best = (x: Lock, ys: Lock[]) => ys.reduce((m, y) => Math.max(m, lockSim(x, y)), 0);
    lock = (best(la, b.locks) + best(lb, a.locks)) / 2;
    if (lock >= 0.7) agreed.push(`same lock ${lockName(la)}`);
    else differed.push(`locks differ: ${lockName(la)} / ${lockName(lb)}`);
    // Version 9: holders are compared as holders of the same kind of lock. A mutex's holder and an
    // rwsem reader's both sleeping in schedule_timeout is no agreement: the locks' types (the lock
    // component, full weight) already say they are different stalls, and their holders are not
    // counterparts — left out, neither agreement nor disagreement ("locks differ" above says why).
    const counterparts = la.kind === lb.kind;
    if (counterparts && la.holder && lb.holder) {
      const al = alignStacks(la.holder.frames, lb.holder.frames, ctx.frames, ctx.params.align);
      // The primitive each holder blocks in (a sleep, a completion, a second lock) is the mechanism;
      // the aligner leaves it out as generic machinery, so it is compared here.
      const pa = blockingPrimitive(la.holder.frames);
      const pb = blockingPrimitive(lb.holder.frames);
      const stackSim = al.lengthA === 0 && al.lengthB === 0 && (pa || pb) ? 1 : al.similarity;
      // A shared primitive is evidence of its own (the same wait under the lock), whatever the callers' names.
      const share = pa || pb ? ctx.params.holderPrimitiveShare : 0;
      // Version 7: the stacks' part weighs as much as their names are rare (the primitive is no name).
      const names = (stackRarity(la.holder.frames, ctx, frameFunction) + stackRarity(lb.holder.frames, ctx, frameFunction)) / 2;
      const stackPart = (1 - share) * (share ? names : 1);
      holder = la.holder.frames.length || lb.holder.frames.length ? (share * Number(pa === pb) + stackPart * stackSim * (pa === pb ? 1 : ctx.params.holderPrimitiveMismatch)) / (share + stackPart) : null;
      holderNames = share ? 1 : names;
      if (holder !== null) {
        const s = `holder stacks: ${la.holder.frames.slice(0, 3).join(' < ') || '-'} / ${lb.holder.frames.slice(0, 3).join(' < ') || '-'}`;
        if (pa !== pb) differed.push(`holders block in different primitives: ${pa ?? 'none'} / ${pb ?? 'none'}`);
        else if (stackSim >= 0.5) agreed.push(`same holder stack (${[...(pa ? [pa] : []), ...al.common.slice(0, 3)].join(' < ')})`);
        else {
          if (pa) agreed.push(`holders both block in ${pa}`);
          differed.push(s);
        }
      }
      state = Number(la.holder.state === lb.holder.state);
      if (!state) differed.push(`holder states differ: ${la.holder.state} / ${lb.holder.state}`);
    } else if (counterparts && (la.holder || lb.holder)) {
      holder = 0;
      differed.push('lock holder known on one side only');
    }
    mode = holdMode(la, lb, agreed, differed);
    waiters = jaccard(la.waiterComms, lb.waiterComms);
    waiters = jaccard(la.waiterComms, lb.waiterComms);
    const ratio = Math.min(la.waiters, lb.waiters) / Math.max(la.waiters, lb.waiters);
    waiters = (waiters + ratio) / 2;
  } else if (la || lb) {
    lock = 0;
    differed.push('a contended lock on one side only');
  }
  const kindsA = Object.keys(a.waitKinds);
  const kindsB = Object.keys(b.waitKinds);
  const waitKinds = jaccard(kindsA, kindsB);
  if (waitKinds < 1) differed.push(`waits differ: ${kindsA.join(',') || '-'} / ${kindsB.join(',') || '-'}`);
  let chains: number | null = null;
  if (a.chains.length || b.chains.length || a.deadlock || b.deadlock) {
    chains = a.deadlock === b.deadlock ? (a.chains.length && b.chains.length ? 1 : 0.5) : 0;
    if (a.deadlock && b.deadlock) agreed.push('a deadlock cycle on both sides');
    else if (a.deadlock !== b.deadlock) differed.push('a deadlock cycle on one side only');
  }
  const components = { lock, holder, state, mode, waiters, waitKinds, chains };
  // Version 7: the lock's name weighs as much as it is rare across the store (a heap lock has none);
  // locks of different types (a mutex, an rwsem) differ in mechanism, and that keeps its weight.
  const named = !la || !lb || la.kind === lb.kind;
  const scale = { holder: holderNames, lock: named ? nameScale(ctx, [la?.name ? lockKey(la.kind, la.name) : null, lb?.name ? lockKey(lb.kind, lb.name) : null]) : 1 };
  const score = mix(ctx.params.locks, components, scale);
  if (score === null) return absent('nothing comparable');
  // Version 12: blocked tasks that wait on no lock on both sides (kthreads in wait_for_completion
  // behind a stuck CPU, a task in I/O) agree on as little as one such task against none says they
  // differ: the family weighs strayBlocked of its weight.
  if (lockless(a) && lockless(b)) {
    differed.push('blocked tasks wait on no lock on either side: weak evidence');
    return { score, agreed, differed, components, evidence: ctx.params.strayBlocked };
  }
  return { score, agreed, differed, components };
}
