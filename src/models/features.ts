// What the learned ranker sees of a pair of signatures: the comparison the
// explainable scorer already makes — every family's score and every
// component it mixed (stack alignment, title, guilty function, kind, the
// lock, the holder's stack, runqueue load, …) and its weighted total, each with a flag saying
// whether the pair had it — plus the stack alignment at shorter depths,
// which sides are console logs, and which reports are corrupted. The list is
// derived from the scorer's own weights file, so it changes when the scorer
// does; a model records the list's hash and is refused when it differs.

import * as crypto from 'node:crypto';
import { alignStacks } from '../similarity/frames.js';
import { score, FAMILIES, type Score } from '../similarity/scorer.js';
import type { FrameStats } from '../similarity/frames.js';
import type { ScorerParams } from '../similarity/compare/types.js';
import type { SignatureView } from '../similarity/view.js';

/** Components per family, in the scorer's order (the kernel family's are its own). */
function componentNames(p: ScorerParams): Array<[string, string[]]> {
  const comps = (f: string): string[] => (f === 'kernel' ? ['distance', 'same'] : Object.keys((p as unknown as Record<string, Record<string, number>>)[f] ?? {}));
  return FAMILIES.map((f) => [f, comps(f)] as [string, string[]]);
}

const DEPTHS = [3, 8];

export function featureNames(p: ScorerParams): string[] {
  const out: string[] = ['scorer.total'];
  for (const [f, comps] of componentNames(p)) {
    out.push(f, `${f}?`);
    for (const c of comps) out.push(`${f}.${c}`, `${f}.${c}?`);
  }
  for (const d of DEPTHS) out.push(`panic.stack@${d}`, `panic.stack@${d}?`);
  out.push('query.console', 'candidate.console', 'query.corrupted', 'candidate.corrupted');
  return out;
}

/** sha256 prefix of the feature list: a model trained on another list is refused. */
export function featureLayout(p: ScorerParams): string {
  return crypto.createHash('sha256').update(featureNames(p).join('\n')).digest('hex').slice(0, 16);
}

/** The feature vector of (query a, candidate b), in featureNames order. */
export function pairFeatures(a: SignatureView, b: SignatureView, frames: FrameStats, p: ScorerParams, scored?: Score): number[] {
  // The scorer's comparison when the caller already made it (the engine has, for every candidate).
  const s = scored ?? score(a, b, frames, p);
  const out: number[] = [s.total];
  for (const [f, comps] of componentNames(p)) {
    const fam = s.families[f as (typeof FAMILIES)[number]];
    const v = fam.score;
    out.push(v ?? 0, v === null ? 0 : 1);
    for (const c of comps) {
      const x = fam.components?.[c];
      out.push(x ?? 0, x === null || x === undefined ? 0 : 1);
    }
  }
  for (const d of DEPTHS) {
    const al = a.panic && b.panic ? alignStacks(a.panic.frames, b.panic.frames, frames, { ...p.align, depth: d }) : null;
    const ok = !!al && al.lengthA > 0 && al.lengthB > 0;
    out.push(ok ? al!.similarity : 0, ok ? 1 : 0);
  }
  out.push(Number(a.kind === 'console'), Number(b.kind === 'console'), Number(!!a.panic?.corrupted), Number(!!b.panic?.corrupted));
  return out;
}

/** Feature groups for ablations and importances: a family and everything under it. */
export function featureGroups(p: ScorerParams): Map<string, number[]> {
  const names = featureNames(p);
  const groups = new Map<string, number[]>();
  names.forEach((n, i) => {
    const g = n === 'scorer.total' ? 'scorer total' : n.startsWith('panic.stack@') ? 'panic' : /^(query|candidate)\./.test(n) ? 'sides' : n.replace(/[.?].*$/, '');
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(i);
  });
  return groups;
}
