// What a family comparison returns: a similarity in 0..1, or null when the
// family says nothing about this pair (missing on a side — a console log has
// no machine state — or empty on both: two dumps without blocked tasks agree,
// but that is no evidence), and the concrete facts that agreed or differed.

import { rarity, significantFrames, type FrameStats, type AlignParams } from '../frames.js';
import { MARKERS } from '../../../features/trace.js';

export interface FamilyScore {
  score: number | null;
  agreed: string[];
  differed: string[];
  /** Why the family was left out, when score is null. */
  why?: string;
  /** The components mixed into the score (null: not comparable for this pair): what a learned ranker reads. */
  components?: Record<string, number | null>;
  /**
   * Version 7: how much the family's evidence says for this pair (0..1; absent: 1) — the share of
   * its component weight left once name-comparing components are scaled by their names' rarity.
   * The family's weight in the total is multiplied by it.
   */
  evidence?: number;
}

/** Component weights of one family (renormalized over the components a pair has). */
export type Components = Record<string, number>;

export interface ScorerParams {
  version: number;
  /** Family weights when the machine state takes part (a vmcore on both sides). */
  families: Record<string, number>;
  /** Family weights when it cannot (a console log on a side). */
  consoleFamilies: Record<string, number>;
  panic: Components;
  locks: Components;
  runqueue: Components;
  cgroup: Components;
  taint: Components;
  cpu: Components;
  kernel: Components;
  align: AlignParams;
  /** A lock holder's stack score is multiplied by this when the two holders block in different primitives. */
  holderPrimitiveMismatch: number;
  /** The share of the holder component that two holders blocking in the same primitive earn whatever their stacks (version 6). */
  holderPrimitiveShare: number;
  stuckPrimitiveMismatch: number;
  contextMismatch: number;
  /** The locks family's score when one side has no blocked task and the other has n that wait on no lock: this / n. */
  strayBlocked: number;
  /**
   * Version 7: between two dumps, a component that compares names (functions, locks) weighs in
   * its family as much as those names are rare across the store (frames.ts rarity, at least
   * `floor`). Absent: names weigh fully.
   */
  nameRarity?: { floor: number };
  /**
   * Version 9: the panic family's weight is multiplied by this between two hung-task dumps (the
   * panic stack is a victim's, reported by khungtaskd; the lock state says why it waits).
   * Absent: 1.
   */
  hungTaskPanic?: number;
  /**
   * Version 10: between two dumps whose lock states are both known, one a deadlock cycle and the
   * other not, the panic stack, title and guilty function are multiplied by this (as
   * stuckPrimitiveMismatch). Absent: 1.
   */
  deadlockMismatch?: number;
  /**
   * Version 11: between two dumps whose crashes both came from a debugging check, checks that
   * differ (list_debug's prev->next against next->prev) multiply the panic stack, title and
   * guilty function by this (as stuckPrimitiveMismatch). Absent: 1.
   */
  checkMismatch?: number;
  /**
   * Version 12: between two stuck-CPU dumps (soft or hard lockup, RCU stall) whose runqueues are
   * both known, a pile of runnable tasks of one program queued behind the stuck CPU's current task
   * on one side only (runqueue starvation against a lone spinner) multiplies the panic stack, title
   * and guilty function by `factor` (as stuckPrimitiveMismatch). A pile is at least `min` queued
   * tasks sharing one name, not counting per-CPU kernel threads (named "name/cpu"). Absent: 1.
   */
  pileMismatch?: { factor: number; min: number };
}

export interface CompareContext {
  frames: FrameStats;
  params: ScorerParams;
  /** Both sides are dumps: the machine-state families take part, and can carry the score when names say little. */
  machine: boolean;
  /** Both sides' lock states are known and exactly one of them is a deadlock cycle. */
  deadlockDiffers?: boolean;
  /** Both sides are stuck CPUs with known runqueues and exactly one has a pile queued behind the stuck task (version 12). */
  pileDiffers?: { a: number; b: number };
}

/** The weight scale of a name-comparing component: the names' mean rarity, when version 7's rule applies. */
export function nameScale(ctx: CompareContext, names: Array<string | null | undefined>): number {
  const r = ctx.params.nameRarity;
  const known = names.filter((n): n is string => !!n);
  if (!r || !ctx.machine || !known.length) return 1;
  return known.reduce((s, n) => s + rarity(ctx.frames, n, r.floor), 0) / known.length;
}

export const absent = (why: string): FamilyScore => ({ score: null, agreed: [], differed: [], why });

/**
 * What a stack's names say (version 7): the rarity of its rarest significant frame, each frame
 * counted under `key` (a holder's frames are counted by function); 1 when the rule is off.
 */
export function stackRarity(frames: string[], ctx: CompareContext, key: (f: string) => string = (f) => f): number {
  const r = ctx.params.nameRarity;
  if (!r || !ctx.machine) return 1;
  const sig = significantFrames(frames, ctx.params.align.depth).filter((f) => !MARKERS.has(f));
  return sig.length ? Math.max(...sig.map((f) => rarity(ctx.frames, key(f), r.floor))) : 1;
}

/** Weighted mean of the components present (value not null); `scale` multiplies some components' weights for this pair. */
export function mix(weights: Components, parts: Record<string, number | null>, scale: Record<string, number> = {}): number | null {
  let sum = 0;
  let w = 0;
  for (const [k, v] of Object.entries(parts)) {
    if (v === null || v === undefined) continue;
    const wk = (weights[k] ?? 0) * (scale[k] ?? 1);
    sum += wk * v;
    w += wk;
  }
  return w > 0 ? sum / w : null;
}

/** The share of the present components' weight that `scale` leaves (1 when nothing is scaled). */
export function evidenceShare(weights: Components, parts: Record<string, number | null>, scale: Record<string, number>): number {
  let kept = 0;
  let all = 0;
  for (const [k, v] of Object.entries(parts)) {
    if (v === null || v === undefined) continue;
    all += weights[k] ?? 0;
    kept += (weights[k] ?? 0) * (scale[k] ?? 1);
  }
  return all > 0 ? kept / all : 1;
}

export function jaccard(a: readonly string[], b: readonly string[]): number {
  const sa = new Set(a);
  const sb = new Set(b);
  if (!sa.size && !sb.size) return 1;
  let inter = 0;
  for (const x of sa) if (sb.has(x)) inter++;
  return inter / (sa.size + sb.size - inter);
}

/** Jaccard over multisets: shared counts over total counts (eight queued hogs are not one). */
export function multisetJaccard(a: readonly string[], b: readonly string[]): number {
  const ca = new Map<string, number>();
  const cb = new Map<string, number>();
  for (const x of a) ca.set(x, (ca.get(x) ?? 0) + 1);
  for (const x of b) cb.set(x, (cb.get(x) ?? 0) + 1);
  let inter = 0;
  let union = 0;
  for (const k of new Set([...ca.keys(), ...cb.keys()])) {
    inter += Math.min(ca.get(k) ?? 0, cb.get(k) ?? 0);
    union += Math.max(ca.get(k) ?? 0, cb.get(k) ?? 0);
  }
  return union ? inter / union : 1;
}
