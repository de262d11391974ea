// The dedupe decision for one input against the known issues: duplicate of
// the best issue when its score reaches τ_dup, new when the best score is
// below τ_new, uncertain in between (kept for a person to label). An input
// whose hash is already stored is "same-dump" before any scoring.
//
// Two pairs of thresholds: a score that only the panic family (and the
// kernel release) decided — a console log on either side — lives on another
// scale than one the machine-state families took part in, so each kind is
// calibrated on its own labelled set (console reports; vmcores).

import { dataJson } from '../util/datafile.js';

export interface Thresholds {
  duplicate: number;
  new: number;
}

export interface ThresholdSet {
  /** Scores decided by the panic family alone (a console log on a side). */
  console: Thresholds;
  /** Scores the machine-state families took part in (a vmcore on both sides). */
  vmcore: Thresholds;
}

type Shipped = Record<keyof ThresholdSet, Thresholds & { scorer: number }>;

export function defaultThresholds(): ThresholdSet {
  const d = dataJson<Shipped>('src/similarity/data/decision.json');
  const pick = (t: Thresholds): Thresholds => ({ duplicate: t.duplicate, new: t.new });
  return { console: pick(d.console), vmcore: pick(d.vmcore) };
}

/** The scorer version each scale's shipped defaults were chosen for (decision.json `scorer`). */
export function defaultThresholdsScorer(): Record<keyof ThresholdSet, number> {
  const d = dataJson<Shipped>('src/similarity/data/decision.json');
  return { console: d.console.scorer, vmcore: d.vmcore.scorer };
}

export type Verdict = 'duplicate' | 'new' | 'uncertain';

const MACHINE = ['locks', 'runqueue', 'cgroup', 'taint', 'cpu'];

/** Which thresholds a score is judged by: vmcore when a machine-state family took part. */
export function thresholdsFor(t: ThresholdSet, used: readonly string[] | null): Thresholds {
  return used && used.some((f) => MACHINE.includes(f)) ? t.vmcore : t.console;
}

/**
 * Days between an input and its best match beyond which the match is at most uncertain
 * (decision.json `recurrenceDays`, with the figures it was chosen from): the same symptom
 * months later is most often another bug — the first fixed, then a regression or a new bug
 * on the same stack — and a person should look.
 */
export function recurrenceDays(): number {
  return dataJson<{ recurrenceDays: number }>('src/similarity/data/decision.json').recurrenceDays;
}

/** Days (fractional) between two ISO times, null when either is unknown or unreadable. */
export function daysApart(a: string | null | undefined, b: string | null | undefined): number | null {
  if (!a || !b) return null;
  const d = Math.abs(Date.parse(a) - Date.parse(b)) / 86_400_000;
  return Number.isFinite(d) ? d : null;
}

/**
 * `gapDays`: days between the input and its best match (null: unknown, no guard). `hold`: a
 * reason the call must not be duplicate whatever the score (fixedHold), else null.
 */
export function decide(best: number | null, t: Thresholds, gapDays: number | null = null, hold: string | null = null): Verdict {
  if (best === null || best < t.new) return 'new';
  if (best < t.duplicate) return 'uncertain';
  return (gapDays !== null && gapDays > recurrenceDays()) || hold !== null ? 'uncertain' : 'duplicate';
}

/**
 * A match to an issue a person marked fixed is a duplicate only on a kernel release the issue
 * was already seen on (that kernel has the bug); on any other release it may be a regression, or
 * a kernel the fix never reached: a person should say which. The reason, or null when the call
 * stands (not fixed, or a release seen before).
 */
export function fixedHold(issueId: number, status: string | undefined, seen: ReadonlySet<string>, release: string | null): string | null {
  if (status !== 'fixed' || (release !== null && seen.has(release))) return null;
  return `#${issueId} is marked fixed and was never seen on ${release ?? 'this (unknown) kernel'} (seen on ${[...seen].sort().join(', ') || 'no known release'}): held at uncertain, a regression or a kernel without the fix`;
}

export function validThresholds(t: ThresholdSet): string | null {
  for (const [k, v] of Object.entries(t) as Array<[string, Thresholds]>) {
    if (!v || !(v.new >= 0 && v.duplicate <= 1 && v.new <= v.duplicate)) return `${k} thresholds must satisfy 0 <= new <= duplicate <= 1 (${JSON.stringify(v)})`;
  }
  return null;
}
