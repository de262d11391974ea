// The cgroup family: where the blocked and runnable tasks sat, which groups
// were throttled, which cpusets restricted the tasks involved. Two dumps
// with no hot spot, throttling or restriction say nothing here.

import type { SignatureView } from '../view.js';
import { absent, jaccard, mix, type CompareContext, type FamilyScore } from './types.js';

export function compareCgroup(a: SignatureView['cgroup'], b: SignatureView['cgroup'], ctx: CompareContext): FamilyScore {
  if (!a || !b) return absent('cgroups not read on one side');
  const empty = (c: NonNullable<SignatureView['cgroup']>) => !c.hot.length && !c.throttled.length && !c.restricted.length;
  if (empty(a) && empty(b)) return absent('no hot spot, throttling or cpuset restriction on either side');
  const agreed: string[] = [];
  const differed: string[] = [];
  const hotA = a.hot.filter((h) => h.blocked > 0 || h.throttled).map((h) => h.path);
  const hotB = b.hot.filter((h) => h.blocked > 0 || h.throttled).map((h) => h.path);
  const blockedIn = hotA.length || hotB.length ? jaccard(hotA, hotB) : null;
  if (blockedIn !== null) (blockedIn > 0 ? agreed : differed).push(`cgroups with blocked tasks: ${hotA.join(',') || '-'} / ${hotB.join(',') || '-'}`);
  const throttled = a.throttled.length || b.throttled.length ? jaccard(a.throttled, b.throttled) : null;
  if (throttled !== null) (throttled > 0 ? agreed : differed).push(`throttled: ${a.throttled.join(',') || '-'} / ${b.throttled.join(',') || '-'}`);
  const restricted = a.restricted.length || b.restricted.length ? jaccard(a.restricted, b.restricted) : null;
  const hot = jaccard(a.hot.map((h) => h.path), b.hot.map((h) => h.path));
  const score = mix(ctx.params.cgroup, { blockedIn, throttled, restricted, hot });
  return score === null ? absent('nothing comparable') : { score, agreed, differed };
}
