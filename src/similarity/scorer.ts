// The explainable scorer: HNSW only proposes candidates; every score a
// person sees comes from here. Each family is compared on its own
// (src/similarity/compare/), families that say nothing for the pair are left
// out and the weights of the rest renormalized, and the result carries the
// breakdown and the facts that agreed or differed, the way Sentry's grouping
// info says which components contributed and why others did not.

import { dataJson } from '../util/datafile.js';
import type { SignatureView } from './view.js';
import type { FrameStats } from './frames.js';
import { NO_STATS } from './frames.js';
import type { CompareContext, FamilyScore, ScorerParams } from './compare/types.js';
import { comparePanic } from './compare/panic.js';
import { compareLocks } from './compare/locks.js';
import { compareRunqueue, queuedPile } from './compare/runqueue.js';
import { compareCgroup } from './compare/cgroup.js';
import { compareTaint } from './compare/taint.js';
import { compareCpu } from './compare/cpu.js';
import { compareKernel } from './compare/kernel.js';

/** The signature's six families, and the kernel release both came from. */
export const FAMILIES = ['panic', 'locks', 'runqueue', 'cgroup', 'taint', 'cpu', 'kernel'] as const;
export type FamilyName = (typeof FAMILIES)[number];

export interface Score {
  /** 0..1 over the families both sides have. */
  total: number;
  families: Record<FamilyName, FamilyScore & { weight: number }>;
  /** Families that decided the score (present on both sides). */
  used: FamilyName[];
  /** The few facts that matter most: agreements first, then differences. */
  reasons: string[];
}

export function defaultParams(): ScorerParams {
  return dataJson<ScorerParams>('src/similarity/data/scorer.json');
}

export function score(a: SignatureView, b: SignatureView, frames: FrameStats = NO_STATS, params: ScorerParams = defaultParams(), only?: readonly FamilyName[]): Score {
  const machine = !!(a.locks && b.locks) || !!(a.runqueue && b.runqueue) || !!(a.cpu && b.cpu);
  // The lock state's say in the panic names (version 10) is the locks family's: not when it is left out.
  const deadlockDiffers = (!only || only.includes('locks')) && !!(a.locks && b.locks) && !!a.locks.deadlock !== !!b.locks.deadlock;
  // The runqueue's say in a stuck CPU's panic names (version 12) is the runqueue family's: not when it is left out.
  const pm = params.pileMismatch;
  const stuck = a.panic?.primitive !== undefined && b.panic?.primitive !== undefined;
  const piles = pm && stuck && (!only || only.includes('runqueue')) && a.runqueue && b.runqueue ? { a: queuedPile(a.runqueue), b: queuedPile(b.runqueue) } : null;
  const pileDiffers = piles && piles.a >= pm!.min !== piles.b >= pm!.min ? piles : undefined;
  const ctx: CompareContext = { frames, params, machine, deadlockDiffers, pileDiffers };
  const all: Record<FamilyName, FamilyScore> = {
    panic: comparePanic(a.panic, b.panic, ctx),
    locks: compareLocks(a.locks, b.locks, ctx),
    runqueue: compareRunqueue(a.runqueue, b.runqueue, ctx),
    cgroup: compareCgroup(a.cgroup, b.cgroup, ctx),
    taint: compareTaint(a.taint, b.taint, ctx),
    cpu: compareCpu(a.cpu, b.cpu, ctx),
    kernel: compareKernel(a.release, b.release, ctx),
  };
  let sum = 0;
  let weight = 0;
  const used: FamilyName[] = [];
  const families = {} as Score['families'];
  const weights = machine ? params.families : params.consoleFamilies;
  // Two hung tasks: what the victims ran says less than what they wait on and who holds it.
  const hung = machine && a.panic?.kind === 'hung-task' && b.panic?.kind === 'hung-task' ? params.hungTaskPanic ?? 1 : 1;
  for (const f of FAMILIES) {
    const s = all[f];
    const w = (weights[f] ?? 0) * (s.evidence ?? 1) * (f === 'panic' ? hung : 1);
    const counted = s.score !== null && (!only || only.includes(f));
    families[f] = { ...s, weight: counted ? w : 0 };
    if (!counted) continue;
    sum += w * s.score!;
    weight += w;
    used.push(f);
  }
  const total = weight > 0 ? sum / weight : 0;
  const reasons = [
    ...used.flatMap((f) => all[f].agreed),
    ...used.flatMap((f) => all[f].differed),
  ].slice(0, 6);
  return { total, families, used, reasons };
}

/** "0.93: same lock cgroup_mutex, same holder stack (…); panic stacks differ" — one line. */
export function summarize(s: Score): string {
  const agreed = s.used.flatMap((f) => s.families[f].agreed).slice(0, 3);
  const differed = s.used.flatMap((f) => s.families[f].differed).slice(0, 2);
  return [agreed.join(', '), differed.join(', ')].filter(Boolean).join('; ');
}
