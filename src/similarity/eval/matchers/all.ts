// The matchers vaat eval compares, and the frame rarity they share: counted
// over the whole set without labels, as a store holding every item would.

import { rarityFrames } from '../../engine.js';
import type { EvalItem, Matcher } from '../types.js';
import { engineMatcher } from './engine.js';
import { titleMatcher, syzbotTitleMatcher } from './title.js';
import { sysomMatcher } from './sysom.js';
import { fafMatcher } from './faf.js';
import { fastMatcher } from './fast.js';
import type { FrameStats } from '../../frames.js';

/** Rarity of frames over the whole set (no labels involved: what a store holding every item would count). */
export function setFrameStats(items: EvalItem[]): FrameStats {
  const df = new Map<string, number>();
  let n = 0;
  for (const it of items) {
    const fs_ = rarityFrames(it.view);
    if (fs_.length) n++;
    for (const f of fs_) df.set(f, (df.get(f) ?? 0) + 1);
  }
  return { n, df: (f) => df.get(f) ?? 0 };
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
