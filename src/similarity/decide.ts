// The dedupe decision for one input against the known issues: duplicate of
// the best issue when its score reaches τ_dup, new when the best score is
// below τ_new, uncertain in between (stored, kept for a person to label).
// An input whose hash is already stored is "same-dump" before any scoring.

import { dataJson } from '../util/datafile.js';

export interface Thresholds {
  duplicate: number;
  new: number;
}

export function defaultThresholds(): Thresholds {
  const d = dataJson<Thresholds>('src/similarity/data/decision.json');
  return { duplicate: d.duplicate, new: d.new };
}

export type Verdict = 'duplicate' | 'new' | 'uncertain';

export function decide(best: number | null, t: Thresholds): Verdict {
  if (best === null || best < t.new) return 'new';
  return best >= t.duplicate ? 'duplicate' : 'uncertain';
}

export function validThresholds(t: Thresholds): string | null {
  if (!(t.new >= 0 && t.duplicate <= 1 && t.new <= t.duplicate)) return `thresholds must satisfy 0 <= new (${t.new}) <= duplicate (${t.duplicate}) <= 1`;
  return null;
}
