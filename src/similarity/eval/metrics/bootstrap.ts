// 95 % bootstrap intervals: resample the units (queries, or root causes for
// clustering) with replacement, recompute the statistic, take the 2.5th and
// 97.5th percentiles. Seeded, so the same data give the same interval.

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Interval {
  value: number;
  lo: number;
  hi: number;
}

/** The statistic on the units and its bootstrap interval. */
export function bootstrap<T>(units: T[], stat: (sample: T[]) => number | null, opts: { rounds?: number; seed?: number } = {}): Interval | null {
  const value = stat(units);
  if (value === null || !units.length) return null;
  const rounds = opts.rounds ?? 1000;
  const r = rng(opts.seed ?? 1);
  const vals: number[] = [];
  for (let b = 0; b < rounds; b++) {
    const s: T[] = new Array(units.length);
    for (let i = 0; i < units.length; i++) s[i] = units[Math.floor(r() * units.length)]!;
    const v = stat(s);
    if (v !== null && Number.isFinite(v)) vals.push(v);
  }
  vals.sort((a, b) => a - b);
  if (!vals.length) return { value, lo: value, hi: value };
  return { value, lo: vals[Math.floor(0.025 * (vals.length - 1))]!, hi: vals[Math.ceil(0.975 * (vals.length - 1))]! };
}

export const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : null);
