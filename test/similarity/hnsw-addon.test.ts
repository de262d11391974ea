// The addon scripts/hnsw-native.mjs may rebuild for AVX2 and FMA: an install carried to a CPU
// without them is refused with the way out, before the addon runs an instruction the CPU lacks.
// The references: the flags line of a real /proc/cpuinfo, and hnswlib's exact answer on a small set.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cpuFlags, nativeBuildProblem, hnswlibAddon } from '../../src/similarity/hnsw-addon.js';
import { tempDir } from '../helpers/tmp.js';

test('a rebuilt addon is refused on a CPU without the instructions it was built for, with the way out', () => {
  const dir = tempDir('vaat-hnsw-addon-');
  const marker = path.join(dir, 'vaat-native.json');
  // An Intel Xeon's flags line (2016, Broadwell: has avx2 and fma) and an Atom's (2013, Silvermont: neither).
  const cpuinfo = (flags: string) => {
    const f = path.join(dir, `cpuinfo-${flags.length}`);
    fs.writeFileSync(f, `processor\t: 0\nmodel name\t: test\nflags\t\t: ${flags}\nbugs\t\t: spectre_v1\n`);
    return f;
  };
  const broadwell = cpuFlags(cpuinfo('fpu vme de pse tsc msr pae mce sse sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt avx f16c rdrand avx2 bmi2 erms'));
  const silvermont = cpuFlags(cpuinfo('fpu vme de pse tsc msr pae mce sse sse2 ssse3 cx16 sse4_1 sse4_2 movbe popcnt rdrand erms'));
  assert.ok(broadwell.has('avx2') && broadwell.has('fma') && !silvermont.has('avx2'));

  // No note beside the addon: npm's own build, which runs anywhere.
  assert.equal(nativeBuildProblem(marker, silvermont), null);
  fs.writeFileSync(marker, JSON.stringify({ flags: ['-O3', '-mavx2', '-mfma'], needs: ['avx2', 'fma'] }));
  assert.equal(nativeBuildProblem(marker, broadwell), null);
  const why = nativeBuildProblem(marker, silvermont);
  assert.match(why!, /lacks avx2, fma/);
  assert.match(why!, /npm rebuild hnswlib-node/);
  // A note that cannot be read does not block: it says nothing about the build.
  fs.writeFileSync(marker, '{"needs": ');
  assert.equal(nativeBuildProblem(marker, silvermont), null);
  // No /proc/cpuinfo (another OS): no flags.
  assert.equal(cpuFlags(path.join(dir, 'none')).size, 0);
});

test('the installed addon loads here and answers an exact search', () => {
  const { HierarchicalNSW } = hnswlibAddon();
  // Five points on axes and diagonals; the query's inner products are known by hand.
  const h = new HierarchicalNSW('ip', 16);
  h.initIndex({ maxElements: 5, m: 16, efConstruction: 100, randomSeed: 1 });
  const e = (i: number) => Array.from({ length: 16 }, (_, k) => (k === i ? 1 : 0));
  [e(0), e(1), e(2), e(3), e(0).map((x, k) => (k < 2 ? Math.SQRT1_2 : x))].forEach((p, i) => h.addPoint(p, i));
  const q = e(0).map((x, k) => (k === 0 ? 0.8 : k === 1 ? 0.6 : x));
  const r = h.searchKnn(q, 3);
  // ip distance is 1 - q·p: q·p4 = 0.8·0.707 + 0.6·0.707 = 0.990, q·p0 = 0.8, q·p1 = 0.6.
  assert.deepEqual(r.neighbors, [4, 0, 1]);
  assert.ok(Math.abs(r.distances[0]! - (1 - 1.4 * Math.SQRT1_2)) < 1e-6);
});
