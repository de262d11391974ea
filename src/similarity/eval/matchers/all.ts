// The matchers vaat eval compares, and the name rarity they share: counted
// over the set's root causes, as a store whose issues they are would.

import { rarityNames } from '../../view.js';
import type { EvalItem, Matcher } from '../types.js';
import { engineMatcher } from './engine.js';
import { titleMatcher, syzbotTitleMatcher } from './title.js';
import { sysomMatcher } from './sysom.js';
import { fafMatcher } from './faf.js';
import { fastMatcher } from './fast.js';
import type { FrameStats } from '../../frames.js';

/**
 * Rarity of names over the set's root causes (scorer version 8): in how many labels a name
 * occurs — what a store whose known issues are the set's root causes counts. Labels only say
 * which items form one issue; the query's own label counts too (in leave-label-out its names look
 * one issue more common than the index alone would say: the conservative side).
 */
export function setFrameStats(items: EvalItem[]): FrameStats {
  const by = new Map<string, Set<string>>();
  const labels = new Set<string>();
  for (const it of items) {
    labels.add(it.label);
    for (const f of rarityNames(it.view)) {
      let s = by.get(f);
      if (!s) by.set(f, (s = new Set()));
      s.add(it.label);
    }
  }
  return { n: labels.size, df: (f) => by.get(f)?.size ?? 0 };
}

/** Every matcher vaat eval compares, the engine first. */
export function allMatchers(items: EvalItem[], frames: FrameStats = setFrameStats(items)): Matcher[] {
  const list: Array<Matcher | null> = [
    engineMatcher(items, frames, { name: 'engine (full signature)', about: 'HNSW top-50 candidates re-ranked by the explainable scorer over all six families' }),
    engineMatcher(items, frames, { name: 'engine, panic family alone', about: 'the same, scoring and searching the panic family only', families: ['panic'] }),
    titleMatcher(items),
    syzbotTitleMatcher(items),
    sysomMatcher(items),
    fafMatcher(items),
    fastMatcher(items, frames),
  ];
  return list.filter((m): m is Matcher => m !== null);
}
