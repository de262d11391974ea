// Title equality, as syzbot buckets crashes: two reports are the same bug
// when their titles are equal. "ours": the title VAAT extracts from the
// text. "syzbot's": the title syzbot filed the bug under, when the set
// carries it (manifest field `title`), without the " (2)" syzbot appends to
// a later bug of the same symptom — that number is syzbot's own knowledge
// that the earlier bug was fixed, not something in the report.

import type { EvalItem, Matcher } from '../types.js';
import { keyEdges } from '../types.js';

function keyMatcher(name: string, about: string, key: (i: number) => string | null, n: number): Matcher {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const k = key(i);
    if (k === null) continue;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(i);
  }
  return {
    name, about, calibrated: false, missing: 'zero', fixedClusterThreshold: 1, fixedDuplicateThreshold: 1,
    scores(q, allow) {
      const out = new Map<number, number>();
      const k = key(q);
      if (k !== null) for (const i of groups.get(k) ?? []) if (i !== q && allow(i)) out.set(i, 1);
      return out;
    },
    edges: (ids) => keyEdges(ids, key),
  };
}

export function titleMatcher(items: EvalItem[]): Matcher {
  return keyMatcher('title equality (ours)', 'syzbot-style: same extracted title, same bug', (i) => items[i]!.sig.panic?.title ?? null, items.length);
}

/** Null when the set does not carry titles. */
export function syzbotTitleMatcher(items: EvalItem[]): Matcher | null {
  if (!items.some((it) => typeof it.extra.title === 'string')) return null;
  return keyMatcher('title equality (syzbot\'s)', 'the title syzbot filed each report\'s bug under, " (N)" dropped', (i) => {
    const t = items[i]!.extra.title;
    return typeof t === 'string' ? t.replace(/ \(\d+\)$/, '') : null;
  }, items.length);
}

export { keyMatcher };
