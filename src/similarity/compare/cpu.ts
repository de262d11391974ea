// The cpu/TLB family: CPUs that saved no registers (did not answer the crash
// NMI: hard-locked), how many were idle, lazy or stale TLB state, and what
// the busy CPUs were running.

import type { SignatureView } from '../view.js';
import { absent, jaccard, mix, type CompareContext, type FamilyScore } from './types.js';

export function compareCpu(a: SignatureView['cpu'], b: SignatureView['cpu'], ctx: CompareContext): FamilyScore {
  if (!a || !b) return absent('CPU state not read on one side');
  const agreed: string[] = [];
  const differed: string[] = [];
  const noRegs = Number(a.noRegisters > 0 === b.noRegisters > 0);
  if (a.noRegisters > 0 && b.noRegisters > 0) agreed.push('CPUs that saved no registers on both sides');
  else if (!noRegs) differed.push(`CPUs without saved registers: ${a.noRegisters} / ${b.noRegisters}`);
  // The idle share over the CPUs that showed a state (view version 5; before it, over the online
  // ones, which a panic without kdump leaves at one): a share, so never above 1.
  const share = (v: NonNullable<SignatureView['cpu']>) => Math.min(1, (v.stated ?? v.online) ? v.idle / (v.stated ?? v.online) : 0);
  const idle = 1 - Math.abs(share(a) - share(b));
  const stale = Number(a.staleTlb > 0 === b.staleTlb > 0);
  if (!stale) differed.push(`stale TLB on one side only`);
  const busy = a.busy.length || b.busy.length ? jaccard(a.busy, b.busy) : null;
  if (busy !== null && busy > 0) agreed.push(`busy CPUs ran ${a.busy.filter((x) => b.busy.includes(x)).join(',')}`);
  const components = { noRegs, idle, stale, busy };
  const score = mix(ctx.params.cpu, components);
  return score === null ? absent('nothing comparable') : { score, agreed, differed, components };
}
