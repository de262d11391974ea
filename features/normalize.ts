// Small normalizations shared by the families: names that differ between
// two occurrences of one bug only by a number (kworker/1:2, syz-executor.3,
// loop7) are made equal, and stacks are cut to the frames that say something.

import { frameName, frameFunction } from './trace.js';

/** "kworker/1:2H" → "kworker/N:NH", "loop7" → "loopN": task names without their instance numbers. */
export function normalizeComm(comm: string): string {
  return comm.replace(/\d+/g, 'N');
}

/** Frames of a stack ("func [module]") with compiler suffixes folded, at most `max`, minus those whose function `skip` matches. */
export function topFrames(frames: Array<{ fn: string; module: string | null }>, skip: RegExp, max: number): string[] {
  const out: string[] = [];
  for (const f of frames) {
    const name = frameName(f.fn, f.module);
    if (skip.test(frameFunction(name))) continue;
    if (out[out.length - 1] !== name) out.push(name);
    if (out.length >= max) break;
  }
  return out;
}

/** Round to 3 decimals so that a signature's numbers print the same everywhere. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
