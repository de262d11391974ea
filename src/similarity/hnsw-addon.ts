// hnswlib-node's addon, loaded when an index is first made, after one check: scripts/hnsw-native.mjs
// (npm's prepare step) may have rebuilt it for this machine's vector instructions (AVX2, FMA) and
// left a note of that beside it. An install copied to a CPU without them would die on an illegal
// instruction inside the addon; this says so first, with the way out.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type * as Hnswlib from 'hnswlib-node';

/** The CPU's feature flags as /proc/cpuinfo lists them (empty where there is no such file). */
export function cpuFlags(cpuinfo = '/proc/cpuinfo'): Set<string> {
  try {
    const line = fs.readFileSync(cpuinfo, 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

/**
 * Why the addon beside `marker` (build/Release/vaat-native.json) cannot run on a CPU with `flags`,
 * or null. No marker, or one that cannot be read: the default build, which runs anywhere.
 */
export function nativeBuildProblem(marker: string, flags: Set<string>): string | null {
  let needs: unknown;
  try {
    needs = (JSON.parse(fs.readFileSync(marker, 'utf8')) as { needs?: unknown }).needs;
  } catch {
    return null;
  }
  if (!Array.isArray(needs)) return null;
  const missing = needs.filter((f): f is string => typeof f === 'string' && !flags.has(f));
  if (!missing.length) return null;
  return `hnswlib-node was built for a CPU with ${needs.join(', ')} (scripts/hnsw-native.mjs) and this one lacks ${missing.join(', ')}: run \`npm rebuild hnswlib-node\` here for the portable build`;
}

const req = createRequire(import.meta.url);

/** The installed addon, and beside it the note scripts/hnsw-native.mjs leaves when it rebuilt it. */
export function addonFiles(): { addon: string; note: string } {
  const dir = path.join(path.dirname(req.resolve('hnswlib-node/package.json')), 'build', 'Release');
  return { addon: path.join(dir, 'addon.node'), note: path.join(dir, 'vaat-native.json') };
}

let lib: typeof Hnswlib | null = null;

export function hnswlibAddon(): typeof Hnswlib {
  if (lib) return lib;
  const problem = nativeBuildProblem(addonFiles().note, cpuFlags());
  if (problem) throw new Error(problem);
  lib = req('hnswlib-node') as typeof Hnswlib;
  return lib;
}
