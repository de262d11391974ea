// The taint family: the taint letters, and which tainting modules sit in the
// panic stack or on a lock holder's stack. An untainted kernel on both sides
// says nothing here.

import type { SignatureView } from '../view.js';
import { absent, jaccard, mix, type CompareContext, type FamilyScore } from './types.js';

export function compareTaint(a: SignatureView['taint'], b: SignatureView['taint'], ctx: CompareContext): FamilyScore {
  if (!a || !b) return absent('taint not read on one side');
  if (!a.letters && !b.letters) return absent('untainted on both sides');
  const agreed: string[] = [];
  const differed: string[] = [];
  const letters = jaccard([...a.letters], [...b.letters]);
  (letters === 1 ? agreed : differed).push(`taint ${a.letters || '-'} / ${b.letters || '-'}`);
  const panic = a.inPanicStack.length || b.inPanicStack.length ? jaccard(a.inPanicStack, b.inPanicStack) : null;
  if (panic !== null) (panic > 0 ? agreed : differed).push(`tainting modules in the panic stack: ${a.inPanicStack.join(',') || '-'} / ${b.inPanicStack.join(',') || '-'}`);
  const holder = a.lockHolder.length || b.lockHolder.length ? jaccard(a.lockHolder, b.lockHolder) : null;
  if (holder !== null) (holder > 0 ? agreed : differed).push(`tainting modules on the lock holder's stack: ${a.lockHolder.join(',') || '-'} / ${b.lockHolder.join(',') || '-'}`);
  const modules = jaccard(a.modules, b.modules);
  const components = { letters, panic, holder, modules };
  const score = mix(ctx.params.taint, components);
  return score === null ? absent('nothing comparable') : { score, agreed, differed, components };
}
