// The panic family: the aligned stacks (position- and rarity-weighted), the
// syzbot-style title, the guilty function and the crash kind. A title that
// ends "in corrupted" names nothing. A component only one side has counts as
// disagreement (a report with no stack is not "the same" as one with a
// stack); only what neither side has is left out — else two reports that
// share nothing but their crash kind would score 1.

import { alignStacks } from '../frames.js';
import type { SignatureView } from '../view.js';
import { absent, evidenceShare, mix, nameScale, stackRarity, type CompareContext, type FamilyScore } from './types.js';

export function comparePanic(a: SignatureView['panic'], b: SignatureView['panic'], ctx: CompareContext): FamilyScore {
  if (!a || !b) return absent(!a && !b ? 'no crash report on either side' : 'no crash report on one side');
  const agreed: string[] = [];
  const differed: string[] = [];
  const al = alignStacks(a.frames, b.frames, ctx.frames, ctx.params.align);
  // Two stuck CPUs, one spinning on a lock and one on its own (or on another lock): the spin-lock
  // frames are generic and dropped from the alignment, so the primitive is compared here.
  const primDiffer = a.primitive !== undefined && b.primitive !== undefined && a.primitive !== b.primitive;
  const aligned = al.lengthA && al.lengthB ? al.similarity : al.lengthA || al.lengthB ? 0 : null;
  // The same functions reached from a process, a softirq or a hardirq: the entry frames are generic
  // and dropped from the alignment, so the context is compared here.
  const ctxDiffer = a.context !== undefined && b.context !== undefined && a.context !== b.context;
  // Version 10: two hangs, one a deadlock cycle and one not (a holder that sleeps, a chain that ends
  // in a sleeper): the victims' functions are not the same bug by their names.
  const lockDiffer = ctx.machine && !!ctx.deadlockDiffers && ctx.params.deadlockMismatch !== undefined;
  // Version 11: two crashes from a debugging check, different checks (list_debug found the previous
  // entry's next pointer wrong in one, the next entry's prev pointer in the other): not the same
  // corruption by their names. Between dumps only, as the other mechanism rules for names.
  const checkDiffer = ctx.machine && !!a.check && !!b.check && a.check !== b.check && ctx.params.checkMismatch !== undefined;
  // Version 12: two stuck CPUs, one with CPU-bound tasks of one program piled up behind it and one
  // spinning alone: runqueue starvation and a lone spinner are not the same stall by their names.
  const pileDiffer = ctx.machine && !!ctx.pileDiffers && !!ctx.params.pileMismatch;
  const mechNames = (lockDiffer ? ctx.params.deadlockMismatch! : 1) * (checkDiffer ? ctx.params.checkMismatch! : 1) * (pileDiffer ? ctx.params.pileMismatch!.factor : 1);
  if (checkDiffer) differed.push(`different checks fired: "${a.check}" / "${b.check}"`);
  if (pileDiffer) differed.push(`tasks of one program piled up behind the stuck CPU on one side only: ${ctx.pileDiffers!.a} / ${ctx.pileDiffers!.b}`);
  const stack = aligned === null ? null : aligned * (primDiffer ? ctx.params.stuckPrimitiveMismatch : 1) * (ctxDiffer ? ctx.params.contextMismatch : 1) * mechNames;
  if (ctxDiffer) differed.push(`crashed in different contexts: ${a.context} / ${b.context}`);
  if (primDiffer) differed.push(`stuck CPUs spin in different primitives: ${a.primitive ?? 'none (spinning on its own)'} / ${b.primitive ?? 'none (spinning on its own)'}`);
  if (stack !== null && al.lengthA && al.lengthB) {
    const line = `${al.common.length} of ${Math.max(al.lengthA, al.lengthB)} significant frames align${al.common.length ? ` (${al.common.slice(0, 3).join(' < ')}${al.common.length > 3 ? ' …' : ''})` : ''}`;
    (stack >= 0.5 ? agreed : differed).push(`panic stacks: ${line}`);
  }
  const usable = (t: string | null) => (t && !/ in corrupted$/.test(t) ? t : null);
  const ta = usable(a.title);
  const tb = usable(b.title);
  const title = ta && tb ? Number(ta === tb) : ta || tb ? 0 : null;
  if (title === 1) agreed.push(`same title "${ta}"`);
  else if (title === 0) differed.push(`titles differ: "${ta}" / "${tb}"`);
  const guilty = a.guilty && b.guilty ? Number(a.guilty === b.guilty) : a.guilty || b.guilty ? 0 : null;
  if (guilty === 1 && title !== 1) agreed.push(`same guilty function ${a.guilty}`);
  else if (guilty === 0 && title !== 0) differed.push(`guilty functions differ: ${a.guilty} / ${b.guilty}`);
  const kind = a.kind && b.kind ? Number(a.kind === b.kind) : a.kind || b.kind ? 0 : null;
  if (kind === 0) differed.push(`crash kinds differ: ${a.kind} / ${b.kind}`);
  if (!al.lengthA !== !al.lengthB) differed.push('a stack on one side only');
  if (stack === null && title === null) return absent('neither side has a stack or a title');
  // Version 9: between two dumps, a mechanism that differs (the stuck CPUs' primitive, the execution
  // context) lowers what the names agree on as much as it lowers the stacks: two soft lockups titled
  // in one function, one spinning on a lock and one in its own loop, are not the same stall by that
  // name. Not with a console log on a side: there the title is the report's identity, and the syzbot
  // tuning half did not gain from it (one bug reached from a syscall and from a timer keeps its title).
  const mech = ctx.machine ? (primDiffer ? ctx.params.stuckPrimitiveMismatch : 1) * (ctxDiffer ? ctx.params.contextMismatch : 1) * mechNames : 1;
  const components = { stack, title: title === null ? null : title * mech, guilty: guilty === null ? null : guilty * mech, kind };
  // Between two dumps, names most crashes in the store share say little: the stack, the title
  // and the guilty function weigh as much as their names are rare; the crash kind is no name.
  // A title that differs outside its function name ("WARNING: refcount bug in f" / "WARNING in f")
  // differs in what happened, and a stack score lowered by a stuck primitive or an execution
  // context differs in mechanism: those keep their full weight.
  const named = nameScale(ctx, [a.guilty, b.guilty]);
  const template = (t: string, fn: string | null) => (fn ? t.split(fn).join('\u0000') : t);
  const titleNamed = !(ta && tb && template(ta, a.guilty) !== template(tb, b.guilty));
  const stackNamed = !primDiffer && !ctxDiffer && !lockDiffer && !checkDiffer && !pileDiffer;
  const scale = {
    stack: stackNamed ? (stackRarity(a.frames, ctx) + stackRarity(b.frames, ctx)) / 2 : 1,
    title: titleNamed ? named : 1,
    guilty: named,
  };
  const score = mix(ctx.params.panic, components, scale);
  const evidence = evidenceShare(ctx.params.panic, components, scale);
  // Say so when the family's names were discounted, with how common they are.
  if (evidence < 0.5) {
    const common = [...new Set([a.guilty, b.guilty].filter((g): g is string => !!g))].map((g) => `${g} in ${ctx.frames.df(g)} of ${ctx.frames.n}`);
    differed.push(`panic names common in the store weigh little (${common.join(', ') || 'its stack frames'}): panic counts ${Math.round(evidence * 100)} %`);
  }
  return score === null ? absent('nothing to compare') : { score, agreed, differed, components, evidence };
}
