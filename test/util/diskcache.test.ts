// Caches on disk are keyed by content and bounded. The zstd dump cache was
// keyed by the file's time: every CI checkout of ../shared made a new 268 MB
// entry and the sixteenth one filled the disk (CI failed with ENOSPC). The
// eval cache did the same with one entry per syzbot report per run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { KERNEL_DIR, requireShared } from '../helpers/fixtures.js';
import { syzbotReports } from '../helpers/syzbot.js';
import { materialize } from '../../src/util/zst.js';
import { sweep } from '../../src/util/diskcache.js';
import { loadEvalSet } from '../../src/cli/eval.js';
import { Program } from '../../src/kernel/program.js';

const ZST = path.join(KERNEL_DIR, 'timer', 'vmcore.elf.zst');
const HOUR = 3_600_000;

function entries(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n !== '.swept').sort();
}

function age(file: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(file, t, t);
}

test('a zstd dump copied under another name and time is decompressed once; the cache file is the dump crash read', () => {
  requireShared();
  const tmp = tempDir('vaat-zstcache-');
  const cache = path.join(tmp, 'cache');
  process.env.VAAT_ZST_CACHE_DIR = cache;
  try {
    const copy = path.join(tmp, 'renamed.zst');
    fs.copyFileSync(ZST, copy);
    age(copy, 86_400_000);
    const a = materialize(ZST);
    const b = materialize(copy);
    assert.equal(b, a, 'same bytes, same cache file');
    assert.deepEqual(entries(cache), [path.basename(a)]);
    const meta = JSON.parse(fs.readFileSync(path.join(KERNEL_DIR, 'timer', 'meta.json'), 'utf8')) as { bytes: number };
    assert.equal(fs.statSync(ZST).size, meta.bytes, 'the stored file is the one meta.json describes');
    // The release crash's sys.txt names for this dump.
    const release = /RELEASE:\s*(\S+)/.exec(fs.readFileSync(path.join(KERNEL_DIR, 'timer', 'crash', 'sys.txt'), 'utf8'))![1]!;
    const p = Program.open(b, {});
    try {
      assert.equal(p.release, release);
    } finally {
      p.close();
    }
  } finally {
    delete process.env.VAAT_ZST_CACHE_DIR;
  }
});

test('the zstd cache stays under its byte bound, least recently used first; half-written files of dead processes go, a live one stays', () => {
  requireShared();
  const cache = tempDir('vaat-zstbound-');
  process.env.VAAT_ZST_CACHE_DIR = cache;
  process.env.VAAT_ZST_CACHE_BYTES = '300M';
  try {
    fs.writeFileSync(path.join(cache, 'dump-old'), Buffer.alloc(64 << 20));
    age(path.join(cache, 'dump-old'), 2 * HOUR);
    fs.writeFileSync(path.join(cache, 'dump-recent'), Buffer.alloc(1 << 20));
    age(path.join(cache, 'dump-recent'), HOUR);
    fs.writeFileSync(path.join(cache, 'dump-x.4242.part'), 'dead writer');
    age(path.join(cache, 'dump-x.4242.part'), 2 * HOUR);
    fs.writeFileSync(path.join(cache, 'dump-y.4343.part'), 'live writer');
    const out = materialize(ZST);
    // 268.7 MB new + 1 MiB recent fits in 300 MiB; adding the 64 MiB old one would not.
    assert.deepEqual(entries(cache), [path.basename(out), 'dump-recent', 'dump-y.4343.part'].sort());
    process.env.VAAT_ZST_CACHE_BYTES = '1M';
    fs.rmSync(out);
    const again = materialize(ZST);
    assert.equal(again, out);
    assert.deepEqual(entries(cache), [path.basename(out), 'dump-y.4343.part'].sort(), 'the entry just made is kept even over the bound');
  } finally {
    delete process.env.VAAT_ZST_CACHE_DIR;
    delete process.env.VAAT_ZST_CACHE_BYTES;
  }
});

test('eval cache: a copied labelled set of console logs reuses every entry; entries unused for two weeks are swept', async () => {
  const tmp = tempDir('vaat-evalcache-');
  const cache = path.join(tmp, 'cache');
  const write = (dir: string) => {
    fs.mkdirSync(dir, { recursive: true });
    const reports = syzbotReports().slice(0, 6);
    for (const r of reports) fs.writeFileSync(path.join(dir, `${r.id}.txt`), r.report);
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(reports.map((r) => ({ id: r.id, path: `${r.id}.txt`, label: r.cluster, kind: 'log' }))));
  };
  write(path.join(tmp, 'a'));
  const first = await loadEvalSet(path.join(tmp, 'a'), { jobs: 1, cache });
  assert.equal(first.items.length, 6);
  const made = entries(cache);
  assert.equal(made.length, 6);
  write(path.join(tmp, 'b'));
  const second = await loadEvalSet(path.join(tmp, 'b'), { jobs: 1, cache });
  assert.deepEqual(entries(cache), made, 'no new entry for the same reports at other paths and times');
  assert.deepEqual(second.items.map((it) => it.sig.panic?.title), syzbotReports().slice(0, 6).map((r) => first.items.find((x) => x.id === r.id)!.sig.panic?.title));
  age(path.join(cache, made[0]!), 15 * 86_400_000);
  sweep(cache, { maxAgeMs: 14 * 86_400_000 });
  assert.deepEqual(entries(cache), made.slice(1));
});

test('a file written whole or not at all: a write that fails leaves neither the file nor its .part', async () => {
  const { writeFileAtomic } = await import('../../src/util/atomicfile.js');
  const dir = tempDir('vaat-atomic-');
  writeFileAtomic(path.join(dir, 'a.html'), '<p>x</p>');
  assert.equal(fs.readFileSync(path.join(dir, 'a.html'), 'utf8'), '<p>x</p>');
  // The rename fails (a directory is in the way) after the .part was written.
  fs.mkdirSync(path.join(dir, 'b.html'));
  fs.writeFileSync(path.join(dir, 'b.html', 'keep'), '');
  assert.throws(() => writeFileAtomic(path.join(dir, 'b.html'), 'y'), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.html', 'b.html']);
});
