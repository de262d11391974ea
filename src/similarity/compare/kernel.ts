// The kernel each crash came from: how far apart the two releases are. One
// root cause crashes the kernels of a span of releases; the same symptom on
// a kernel years later is more often a new bug (a regression, a fix that
// did not hold) — syzbot opens a new bug for it, a fleet should at least not
// call it a duplicate with full confidence. Distance in feature releases
// (5.10 → 5.12 is 2; 5.19 → 6.0 is 1); unknown on a side: left out.

import type { SignatureView } from '../view.js';
import { absent, type CompareContext, type FamilyScore } from './types.js';

/** Feature releases before each major (2.6 counts as one long line before 3.0). */
const FIRST: Record<number, number> = { 2: 0, 3: 40, 4: 60, 5: 81, 6: 101, 7: 131, 8: 161 };

export function releaseOrdinal(release: string | null): number | null {
  const m = release ? /^(\d+)\.(\d+)/.exec(release) : null;
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const base = FIRST[major];
  return base === undefined ? null : base + (major === 2 ? 0 : minor);
}

export function compareKernel(a: SignatureView['release'], b: SignatureView['release'], ctx: CompareContext): FamilyScore {
  const oa = releaseOrdinal(a);
  const ob = releaseOrdinal(b);
  if (oa === null || ob === null) return absent('kernel release unknown on a side');
  const d = Math.abs(oa - ob);
  const scale = (ctx.params.kernel?.scale as number | undefined) ?? 4;
  const score = Math.exp(-d / scale);
  const components = { distance: Math.min(1, d / 20), same: Number(a === b) };
  if (a === b) return { score, agreed: [`same kernel ${a}`], differed: [], components };
  if (d === 0) return { score, agreed: [`same kernel series (${a} / ${b})`], differed: [], components };
  return { score, agreed: [], differed: [`kernels ${d} release${d > 1 ? 's' : ''} apart (${a} / ${b})`], components };
}
