// Small normalizations shared by the families: names that differ between
// two occurrences of one bug only by a number (kworker/1:2, syz-executor.3,
// loop7) are made equal, and stacks are cut to the frames that say something.

import { frameName, frameFunction } from './trace.js';

/** "kworker/1:2H" → "kworker/N:NH", "loop7" → "loopN": task names without their instance numbers. */
export function normalizeComm(comm: string): string {
  return comm.replace(/\d+/g, 'N');
}

/**
 * Frames of a stack ("func [module]") with compiler suffixes folded, at most
 * `max`, minus those whose function `skip` matches — except, when `keep` is
 * given, the outermost of the skipped frames on top of the stack if `keep`
 * matches it: the blocking primitive the task's own code called.
 */
export function topFrames(frames: Array<{ fn: string; module: string | null }>, skip: RegExp, max: number, keep?: RegExp): string[] {
  const out: string[] = [];
  let leading: string | null = null;
  let onTop = true;
  for (const f of frames) {
    const name = frameName(f.fn, f.module);
    if (skip.test(frameFunction(name))) {
      if (onTop) leading = name;
      continue;
    }
    if (onTop && leading && keep?.test(frameFunction(leading))) out.push(leading);
    onTop = false;
    if (out[out.length - 1] !== name) out.push(name);
    if (out.length >= max) break;
  }
  return out;
}

/** Round to 3 decimals so that a signature's numbers print the same everywhere. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
