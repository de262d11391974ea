// Stack similarity in the manner of FaST and TraceSim: two stacks are
// aligned in order (a weighted longest common subsequence), and what a
// matched frame is worth depends on where it sits (frames near the top say
// more) and how rare it is across the store (a frame most crashes share says
// little: inverse document frequency). Generic machinery (features/generic.ts)
// is left out before positions are counted, so a KASAN report's five
// reporting frames do not push the frames that matter down.

import { isGenericFrame } from '../../features/generic.js';
import { MARKERS } from '../../features/trace.js';

/**
 * How many known root causes each name (frame, lock) occurs in (scorer version 8; before it,
 * how many signatures): a name shared by many different issues says little about which one a
 * crash is, however often one issue repeats.
 */
export interface FrameStats {
  /** Number of known issues (the store's issues opened; an eval set's root causes). */
  readonly n: number;
  /** In how many of them the name occurs (in a member that is evidence: not pending). */
  df(frame: string): number;
}

export const NO_STATS: FrameStats = { n: 0, df: () => 0 };

export interface AlignParams {
  /** Frames compared from the top of each stack. */
  depth: number;
  /** Position weight 1 / (1 + position / decay). */
  decay: number;
  /** A matched pair's worth falls by this much per position of offset between the two stacks. */
  offsetPenalty: number;
  /** Weight of an interrupt/exception marker relative to a frame. */
  markerWeight: number;
  /** Lowest weight rarity gives a frame (one every stack has). */
  idfFloor: number;
}

export const DEFAULT_ALIGN: AlignParams = { depth: 24, decay: 5, offsetPenalty: 0.1, markerWeight: 0.3, idfFloor: 0.1 };

const significant = new WeakMap<readonly string[], { depth: number; frames: string[] }>();

/** The frames that count, top first: generic ones dropped, repeats of the frame above collapsed, cut at `depth`. */
export function significantFrames(frames: string[], depth: number): string[] {
  // Views are cached and compared many times: the answer for a given array is kept with it.
  const c = significant.get(frames);
  if (c && c.depth === depth) return c.frames;
  const out = computeSignificant(frames, depth);
  significant.set(frames, { depth, frames: out });
  return out;
}

function computeSignificant(frames: string[], depth: number): string[] {
  const out: string[] = [];
  for (const f of frames) {
    if (!MARKERS.has(f) && isGenericFrame(f)) continue;
    if (out[out.length - 1] === f) continue;
    out.push(f);
    if (out.length >= depth) break;
  }
  return out;
}

/**
 * How much a name (a frame, or a lock keyed by view.ts lockKey) says: its inverse document
 * frequency over the store's known issues, scaled to 0..1 (1: in one issue; 0: in every one),
 * never below `floor`.
 * With no store to count over, every name counts fully.
 */
export function rarity(stats: FrameStats, name: string, floor: number): number {
  return stats.n > 1 ? Math.max(floor, Math.log((stats.n + 1) / (stats.df(name) + 1)) / Math.log(stats.n + 1)) : 1;
}

function weights(frames: string[], stats: FrameStats, p: AlignParams): number[] {
  return frames.map((f, i) => {
    const pos = 1 / (1 + i / p.decay);
    if (MARKERS.has(f)) return pos * p.markerWeight;
    return pos * rarity(stats, f, p.idfFloor);
  });
}

export interface Alignment {
  /** 0..1: the matched frames' share of both stacks' weight. */
  similarity: number;
  /** Frames matched, top first. */
  common: string[];
  /** Significant frames on each side. */
  lengthA: number;
  lengthB: number;
}

/** Align two stacks (significant frames, see significantFrames) and say how much of them agrees. */
export function alignStacks(a: string[], b: string[], stats: FrameStats = NO_STATS, p: AlignParams = DEFAULT_ALIGN): Alignment {
  const fa = significantFrames(a, p.depth);
  const fb = significantFrames(b, p.depth);
  if (!fa.length || !fb.length) return { similarity: 0, common: [], lengthA: fa.length, lengthB: fb.length };
  const wa = weights(fa, stats, p);
  const wb = weights(fb, stats, p);
  const n = fa.length;
  const m = fb.length;
  // dp[i][j]: best matched worth of fa[i..], fb[j..].
  const dp = new Float64Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      let best = Math.max(dp[at(i + 1, j)]!, dp[at(i, j + 1)]!);
      if (fa[i] === fb[j]) {
        const worth = ((wa[i]! + wb[j]!) / 2) / (1 + p.offsetPenalty * Math.abs(i - j));
        best = Math.max(best, worth + dp[at(i + 1, j + 1)]!);
      }
      dp[at(i, j)] = best;
    }
  }
  // Walk the best path back for the frames it matched.
  const common: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (fa[i] === fb[j]) {
      const worth = ((wa[i]! + wb[j]!) / 2) / (1 + p.offsetPenalty * Math.abs(i - j));
      if (Math.abs(dp[at(i, j)]! - (worth + dp[at(i + 1, j + 1)]!)) < 1e-12) {
        if (!MARKERS.has(fa[i]!)) common.push(fa[i]!);
        i++;
        j++;
        continue;
      }
    }
    if (dp[at(i + 1, j)]! >= dp[at(i, j + 1)]!) i++;
    else j++;
  }
  let total = 0;
  for (const w of wa) total += w;
  for (const w of wb) total += w;
  return { similarity: Math.min(1, dp[at(0, 0)]! / (total / 2)), common, lengthA: n, lengthB: m };
}
