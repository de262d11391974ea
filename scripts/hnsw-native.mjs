#!/usr/bin/env node
// hnswlib-node, built for this machine's vector instructions (run by `npm ci` / `npm install` in
// the prepare step, after the build; `node scripts/hnsw-native.mjs` again at any time).
//
// Why: npm builds hnswlib-node's addon with the compiler's defaults, which on x86-64 means SSE
// only, so hnswlib's AVX inner-product kernels (space_ip.h, compiled in only under __AVX__) are
// left out. Every HNSW search and insert is mostly inner products over 576 floats. On this
// project's 2-core machine (2026-12-06, `npm run bench:hnsw -- --n 100000 --m 32 --ef 128,256`,
// same vectors): building took 110 s with the default addon and 81 s with this one, a search at
// efSearch 256 0.84 ms at the median instead of 1.23 ms, recall@10 the same (1.000).
//
// What it does, and why it is safe to run anywhere:
// - Only on Linux x86-64 whose CPU reports avx2 and fma (/proc/cpuinfo); elsewhere nothing.
// - VAAT_PORTABLE_HNSW=1 skips it: an install that will be copied to other machines keeps the
//   default build (an AVX2 build stops with "illegal instruction" on a CPU without AVX2).
// - Builds a copy of the package's sources with node-gyp (npm's own, with npm's nodedir) in a
//   scratch directory inside node_modules; the installed addon is replaced only after the new
//   one answered a check: the same nearest neighbours as the default addon for 50 queries over
//   2,000 random vectors. Any failure leaves the default build in place with a one-line notice;
//   the install never fails because of this step.
// - Leaves build/Release/vaat-native.json beside the addon (flags, CPU), which the index reads:
//   on a CPU without those instructions it refuses with a message saying how to rebuild,
//   instead of dying on an illegal instruction (src/similarity/hnsw-addon.ts).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const FLAGS = ['-O3', '-mavx2', '-mfma'];
const NEEDS = ['avx2', 'fma'];
const say = (m) => console.error(`hnsw-native: ${m}`);

async function main() {
  if (process.env.VAAT_PORTABLE_HNSW === '1') return say('VAAT_PORTABLE_HNSW=1: the default (portable) build is kept');
  if (process.platform !== 'linux' || process.arch !== 'x64') return say(`${process.platform}/${process.arch}: the default build is kept`);
  const { cpuFlags, addonFiles } = await import('../dist/src/similarity/hnsw-addon.js');
  const have = cpuFlags();
  const missing = NEEDS.filter((f) => !have.has(f));
  if (missing.length) return say(`the CPU lacks ${missing.join(', ')}: the default build is kept`);

  let files;
  try {
    files = addonFiles();
  } catch {
    return say('hnswlib-node is not installed: nothing to do');
  }
  const { addon, note: marker } = files;
  const pkgDir = path.resolve(path.dirname(addon), '..', '..');
  if (!fs.existsSync(addon)) return say(`no ${addon}: nothing to rebuild`);
  try {
    const m = JSON.parse(fs.readFileSync(marker, 'utf8'));
    if (JSON.stringify(m.flags) === JSON.stringify(FLAGS)) return say(`already built with ${FLAGS.join(' ')}`);
  } catch { /* no marker: the default build */ }

  // The scratch copy sits in node_modules so that the package's binding.gyp finds node-addon-api by the usual lookup.
  const scratch = path.join(path.dirname(pkgDir), `.vaat-hnsw-build-${process.pid}`);
  fs.rmSync(scratch, { recursive: true, force: true });
  try {
    fs.mkdirSync(scratch);
    for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(pkgDir, f), path.join(scratch, f));
    fs.cpSync(path.join(pkgDir, 'src'), path.join(scratch, 'src'), { recursive: true });
    const gyp = process.env.npm_config_node_gyp
      ?? [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find((p) => fs.existsSync(p));
    if (!gyp || !fs.existsSync(gyp)) return say('node-gyp not found: the default build is kept');
    const nodedir = process.env.npm_config_nodedir ?? spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).stdout?.trim();
    const args = [gyp, 'rebuild', ...(nodedir && nodedir !== 'undefined' ? [`--nodedir=${nodedir}`] : [])];
    const b = spawnSync(process.execPath, args, { cwd: scratch, encoding: 'utf8', env: { ...process.env, CXXFLAGS: FLAGS.join(' ') }, timeout: 600_000 });
    const built = path.join(scratch, 'build', 'Release', 'addon.node');
    if (b.status !== 0 || !fs.existsSync(built)) {
      const why = `${b.stderr ?? ''}${b.error ?? ''}`.split('\n').filter((l) => /ERR!|error/i.test(l)).slice(0, 2).join(' / ');
      return say(`the rebuild failed (${why || `exit ${b.status}`}): the default build is kept`);
    }
    // The check runs in a child: an addon that cannot run here must not take this script down.
    const check = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--check', addon, built], { encoding: 'utf8', timeout: 120_000 });
    if (check.status !== 0) return say(`the rebuilt addon failed its check (${(check.stderr || check.stdout || `exit ${check.status}`).trim().split('\n')[0]}): the default build is kept`);
    fs.copyFileSync(addon, path.join(pkgDir, 'build', 'Release', 'addon.default.node'));
    fs.copyFileSync(built, `${addon}.new`);
    fs.renameSync(`${addon}.new`, addon);
    fs.writeFileSync(marker, `${JSON.stringify({ flags: FLAGS, needs: NEEDS, cpu: os.cpus()[0]?.model ?? null, builtAt: new Date().toISOString() }, null, 1)}\n`);
    say(`rebuilt with ${FLAGS.join(' ')} (${check.stdout.trim()}); \`npm rebuild hnswlib-node\` restores the default build`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Both addons, the same random vectors: the same ten nearest neighbours for every query. */
function check(defaultAddon, newAddon) {
  const req = createRequire(import.meta.url);
  const A = req(defaultAddon).HierarchicalNSW;
  const B = req(newAddon).HierarchicalNSW;
  const dim = 576, n = 2000, q = 50;
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
  const unit = () => {
    const v = Array.from({ length: dim }, rnd);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const pts = Array.from({ length: n }, unit);
  const mk = (C) => {
    const h = new C('ip', dim);
    h.initIndex({ maxElements: n, m: 16, efConstruction: 100, randomSeed: 7 });
    pts.forEach((p, i) => h.addPoint(p, i));
    h.setEf(200);
    return h;
  };
  const a = mk(A), b = mk(B);
  let same = 0;
  for (let i = 0; i < q; i++) {
    const v = unit();
    const ra = a.searchKnn(v, 10).neighbors.slice().sort((x, y) => x - y).join(',');
    const rb = b.searchKnn(v, 10).neighbors.slice().sort((x, y) => x - y).join(',');
    if (ra === rb) same++;
  }
  if (same < q) {
    console.error(`${q - same} of ${q} queries found other neighbours`);
    process.exit(1);
  }
  console.log(`${q} of ${q} queries found the same ten neighbours`);
}

if (process.argv[2] === '--check') check(process.argv[3], process.argv[4]);
else {
  await main().catch((e) => say(`${e.message}: the default build is kept`));
}
