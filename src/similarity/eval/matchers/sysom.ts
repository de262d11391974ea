// Alibaba/OpenAnolis SysOM's vmcore key, the "panic-stack similarity" the
// VAATools article blames for a high error rate: the RIP function and the
// next two frames, after dropping the frames SysOM ignores (scheduler,
// entry glue, panic and stack dumping, watchdog, timer interrupts). Its
// "similar vmcore" lookup returns three tiers — all three frames equal, the
// first two, the first one — scored here 1, 2/3, 1/3.

import { dataJson } from '../../../util/datafile.js';
import { MARKERS } from '../../../../features/trace.js';
import type { EvalItem, Matcher } from '../types.js';
import { keyEdges } from '../types.js';

export function sysomFrames(frames: string[]): string[] {
  const re = new RegExp(dataJson<{ sysomIgnore: string[] }>('src/similarity/data/baselines.json').sysomIgnore.join('|'));
  return frames.filter((f) => !MARKERS.has(f) && !re.test(f)).slice(0, 3);
}

export function sysomMatcher(items: EvalItem[]): Matcher {
  const keys = items.map((it) => sysomFrames(it.view.panic?.frames ?? []));
  const byFirst = new Map<string, number[]>();
  keys.forEach((k, i) => {
    if (!k.length) return;
    if (!byFirst.has(k[0]!)) byFirst.set(k[0]!, []);
    byFirst.get(k[0]!)!.push(i);
  });
  const tier = (a: string[], b: string[]) => {
    let n = 0;
    while (n < 3 && n < a.length && n < b.length && a[n] === b[n]) n++;
    return a.length === 3 && b.length === 3 ? n / 3 : n === Math.max(a.length, b.length) ? 1 : n / 3;
  };
  return {
    name: 'SysOM key (RIP + 2 frames)', about: 'RIP function and the next two frames after SysOM\'s ignore list; tiers 3/2/1 frames equal', calibrated: false,
    missing: 'zero', fixedClusterThreshold: 1, fixedDuplicateThreshold: 1,
    scores(q, allow) {
      const out = new Map<number, number>();
      const k = keys[q]!;
      if (!k.length) return out;
      for (const i of byFirst.get(k[0]!) ?? []) if (i !== q && allow(i)) out.set(i, tier(k, keys[i]!));
      return out;
    },
    edges: (ids) => keyEdges(ids, (i) => (keys[i]!.length ? keys[i]!.join('|') : null)),
  };
}
