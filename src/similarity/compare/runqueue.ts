// The runqueue family: how uneven the load was (max/mean nr_running, idle
// CPUs while others were overloaded), who had been running longest without a
// break, throttled groups, and what the panic CPU was running and queueing.

import type { SignatureView } from '../view.js';
import { absent, jaccard, mix, multisetJaccard, type CompareContext, type FamilyScore } from './types.js';

/**
 * The largest group of tasks sharing one name queued on the panic CPU behind its current task,
 * per-CPU kernel threads left out (kworker/N:N, ksoftirqd/N, migration/N: the kernel names them
 * "name/cpu", and one of each is queued behind any stuck CPU). A spinner alone leaves 0 to 2;
 * CPU-bound threads of one program pinned behind it pile up. On a machine of one CPU whatever is
 * runnable waits behind the spinner, and there is nowhere else it could have run: no pile.
 */
export function queuedPile(r: SignatureView['runqueue']): number {
  if (!r || r.cpus < 2) return 0;
  const count = new Map<string, number>();
  for (const comm of r.panicQueued) if (!comm.includes('/')) count.set(comm, (count.get(comm) ?? 0) + 1);
  return Math.max(0, ...count.values());
}

export function compareRunqueue(a: SignatureView['runqueue'], b: SignatureView['runqueue'], ctx: CompareContext): FamilyScore {
  if (!a || !b) return absent('runqueues not read on one side');
  const agreed: string[] = [];
  const differed: string[] = [];
  const ra = Math.max(a.ratio, 0.1);
  const rb = Math.max(b.ratio, 0.1);
  const imbalance = 1 - Math.min(1, Math.abs(Math.log(ra) - Math.log(rb)) / Math.log(4));
  const overload = Number(a.idleWhileOverloaded === b.idleWhileOverloaded);
  // How many tasks piled up on the busiest CPU (3 vs 11 is a spinner alone vs a spinner with hogs behind it).
  const load = 1 - Math.min(1, Math.abs(Math.log1p(a.max ?? 0) - Math.log1p(b.max ?? 0)) / Math.log(8));
  if (load < 0.7) differed.push(`busiest runqueue ${a.max} / ${b.max} tasks`);
  if (a.idleWhileOverloaded && b.idleWhileOverloaded) agreed.push('CPUs idle while others were overloaded, on both sides');
  else if (!overload) differed.push('idle-while-overloaded on one side only');
  // A task on its CPU for a second or more without a switch is a spinner, a hog or a starved queue's cause.
  const la = a.longest && a.longest.seconds >= 1 ? a.longest.comm : null;
  const lb = b.longest && b.longest.seconds >= 1 ? b.longest.comm : null;
  let longest: number | null = null;
  if (la || lb) {
    longest = Number(la === lb);
    (longest ? agreed : differed).push(longest ? `${la} ran longest without a switch on both sides` : `longest runners differ: ${la ?? '-'} / ${lb ?? '-'}`);
  }
  const throttled = a.throttled.length || b.throttled.length ? jaccard(a.throttled, b.throttled) : null;
  if (throttled !== null) (throttled > 0 ? agreed : differed).push(`throttled groups: ${a.throttled.join(',') || '-'} / ${b.throttled.join(',') || '-'}`);
  const curr = a.panicCurr && b.panicCurr ? Number(a.panicCurr === b.panicCurr) : null;
  const queued = a.panicQueued.length || b.panicQueued.length ? multisetJaccard(a.panicQueued, b.panicQueued) : null;
  if (queued !== null && queued < 0.5) differed.push(`queued on the panic CPU: ${a.panicQueued.length} / ${b.panicQueued.length} tasks`);
  const components = { imbalance, load, overload, longest, throttled, curr, queued };
  const score = mix(ctx.params.runqueue, components);
  return score === null ? absent('nothing comparable') : { score, agreed, differed, components };
}
