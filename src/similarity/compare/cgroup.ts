// The cgroup family: where the blocked tasks sat, which groups were
// throttled, which cpusets restricted the tasks involved in the crash. A
// cgroup that only held running tasks is background load, different from one
// dump of a bug to the next, and is not evidence; two dumps with no blocked
// task in a cgroup, no throttling and no restriction say nothing here.

import type { SignatureView } from '../view.js';
import { absent, jaccard, mix, type CompareContext, type FamilyScore } from './types.js';

export function compareCgroup(a: SignatureView['cgroup'], b: SignatureView['cgroup'], ctx: CompareContext): FamilyScore {
  if (!a || !b) return absent('cgroups not read on one side');
  const involved = (c: NonNullable<SignatureView['cgroup']>) => c.hot.filter((h) => h.blocked > 0 || h.throttled).map((h) => h.path);
  const empty = (c: NonNullable<SignatureView['cgroup']>) => !involved(c).length && !c.throttled.length && !c.restricted.length;
  if (empty(a) && empty(b)) return absent('no blocked task in a cgroup, no throttling or cpuset restriction on either side');
  const agreed: string[] = [];
  const differed: string[] = [];
  const hotA = involved(a);
  const hotB = involved(b);
  const blockedIn = hotA.length || hotB.length ? jaccard(hotA, hotB) : null;
  if (blockedIn !== null) (blockedIn > 0 ? agreed : differed).push(`cgroups with blocked tasks: ${hotA.join(',') || '-'} / ${hotB.join(',') || '-'}`);
  const throttled = a.throttled.length || b.throttled.length ? jaccard(a.throttled, b.throttled) : null;
  if (throttled !== null) (throttled > 0 ? agreed : differed).push(`throttled: ${a.throttled.join(',') || '-'} / ${b.throttled.join(',') || '-'}`);
  const restricted = a.restricted.length || b.restricted.length ? jaccard(a.restricted, b.restricted) : null;
  const components = { blockedIn, throttled, restricted };
  const score = mix(ctx.params.cgroup, components);
  return score === null ? absent('nothing comparable') : { score, agreed, differed, components };
}
