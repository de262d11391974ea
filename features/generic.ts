// Which functions never name a crash (features/data/generic-frames.json):
// hand-written patterns by kind of helper, plus exact names grown from
// labelled reports (scripts/generic-frames.mjs). One place for the rule;
// the title extractor, the guilty frame and the matchers all ask here.

import { dataJson } from '../src/util/datafile.js';

interface GenericFrames {
  categories: Record<string, string[]>;
  evidence: Array<{ function: string }>;
}

let compiled: { re: RegExp; names: Set<string> } | null = null;

function rules(): { re: RegExp; names: Set<string> } {
  if (compiled) return compiled;
  const d = dataJson<GenericFrames>('features/data/generic-frames.json');
  compiled = {
    re: new RegExp(Object.values(d.categories).flat().join('|')),
    names: new Set(d.evidence.map((e) => e.function)),
  };
  return compiled;
}

const memo = new Map<string, boolean>();

/** Is this function (no module, no offset) generic machinery rather than the place a crash names? */
export function isGenericFrame(fn: string): boolean {
  let v = memo.get(fn);
  if (v === undefined) {
    const r = rules();
    v = r.names.has(fn) || r.re.test(fn);
    // Frames repeat across reports; the set of names is bounded in practice, the memo kept so.
    if (memo.size > 200_000) memo.clear();
    memo.set(fn, v);
  }
  return v;
}

/** The category a hand-written pattern puts the function in, 'evidence' for a grown name, or null. */
export function genericCategory(fn: string): string | null {
  const d = dataJson<GenericFrames>('features/data/generic-frames.json');
  if (rules().names.has(fn)) return 'evidence';
  for (const [cat, pats] of Object.entries(d.categories)) if (pats.some((p) => new RegExp(p).test(fn))) return cat;
  return null;
}
