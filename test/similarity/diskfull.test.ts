// A store whose disk fills in the middle of an ingest. Before: the first
// write that failed (SQLITE_FULL) was recorded as the input's failure, whose
// own write failed too, and the process died with a stack trace; a hundred
// inputs were never reported and their decisions never printed. Now the batch
// stops storing, says so for every input left, and the store opens, answers
// and takes the rest afterwards. And an index file written short (hnswlib
// checks no write) is found and not put in place. And a store on a read-only
// filesystem says why it cannot be opened.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../helpers/tmp.js';
import { mountTmpfs } from '../helpers/smallfs.js';
import { vaat, VAAT } from '../helpers/cli.js';
import { syzbotReports } from '../helpers/syzbot.js';
import { VectorIndex, checkHnswFile, DEFAULT_INDEX } from '../../src/similarity/hnsw.js';
import { storageFailure } from '../../src/similarity/store.js';

const N = 400;

interface Line {
  input: string;
  decision: string;
  issue: number | null;
  signature: number | null;
  error: string | null;
}

const parse = (out: string): Line[] => out.trim().split('\n').map((l) => JSON.parse(l) as Line);

/**
 * A small filesystem of its own: a tmpfs of `mb` MiB (root may mount one). Where mounting is not
 * allowed, the operating system's file-size limit (RLIMIT_FSIZE, via prlimit) fails the writes the
 * same way from outside the program: EFBIG instead of ENOSPC. `node` runs node with these arguments
 * under the limit (until `grow`). A file limit must be smaller than the disk: SQLite's write-ahead log
 * is checkpointed at about 4 MB, so no one file reaches a 6 MiB limit.
 */
function smallDisk(dir: string, mb: number, fileMb: number) {
  const fsm = mountTmpfs(dir, mb);
  let limited = !fsm.mounted;
  return {
    mounted: fsm.mounted,
    how: fsm.mounted ? fsm.how : `files limited to ${fileMb} MiB (${fsm.how})`,
    node(argv: string[]) {
      const r = limited
        ? spawnSync('prlimit', [`--fsize=${fileMb * 2 ** 20}`, process.execPath, ...argv], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 })
        : spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    },
    grow() {
      fsm.grow(256);
      limited = false;
    },
    release() {
      fsm.release();
    },
  };
}

test('the store\'s disk fills mid-ingest: every input is reported, those after the failure as not ingested; nothing crashes; the store then answers and takes the rest', (t) => {
  const tmp = tempDir('vaat-diskfull-');
  const logs = path.join(tmp, 'logs');
  fs.mkdirSync(logs);
  const reports = syzbotReports().slice(0, N);
  for (const r of reports) fs.writeFileSync(path.join(logs, `${r.id}.txt`), r.report);
  const disk = smallDisk(path.join(tmp, 'disk'), 6, 2);
  t.diagnostic(disk.how);
  t.after(() => disk.release());
  const store = path.join(tmp, 'disk', 'store');
  const run = () => disk.node([VAAT, 'ingest', '--logs', logs, '--store', store, '--json']);

  const first = run();
  assert.doesNotMatch(first.err, /Node\.js v|^\s+at /m, 'no crash');
  assert.equal(first.code, 2, first.err);
  const lines = parse(first.out);
  assert.deepEqual(lines.map((l) => path.basename(l.input)), reports.map((r) => `${r.id}.txt`).sort(), 'one line per input');
  const stored = lines.filter((l) => l.decision !== 'failed');
  const cut = lines.findIndex((l) => l.decision === 'failed');
  assert.ok(cut > 20 && cut < N - 20, `the disk filled mid-run (first failure at ${cut})`);
  assert.equal(stored.length, cut, 'after the first storage failure nothing more is stored');
  for (const l of lines.slice(cut)) assert.match(l.error!, /^not ingested: the store cannot take writes: .*(SQLITE_FULL|SQLITE_IOERR)/);
  assert.match(first.err, new RegExp(`the store cannot take writes: .*; ${N - cut} inputs not ingested`));
  assert.deepEqual(fs.readdirSync(store).filter((f) => f.endsWith('.tmp')), [], 'nothing half-written left');

  // A person's correction on the full disk is refused as the store's trouble, in one line (it was
  // "internal error: database or disk is full"). The tmpfs's last bytes are taken first: a write
  // may still fit in what the ingest left.
  const last = stored.filter((l) => l.decision === 'new').pop()!;
  if (disk.mounted) {
    const filler = path.join(tmp, 'disk', 'filler');
    const fd = fs.openSync(filler, 'w');
    for (const size of [1 << 16, 1 << 12, 512]) {
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(size));
      } catch {
        /* ENOSPC: full */
      }
    }
    fs.closeSync(fd);
    const split = disk.node([VAAT, 'issue', 'split', String(last.issue), String(last.signature), '--store', store]);
    assert.equal(split.code, 1, split.out);
    assert.match(split.err, /^vaat: issue: the store cannot take writes: .*\((SQLITE_FULL|SQLITE_IOERR\w*)\)\n$/);
    fs.rmSync(filler);
  } else t.diagnostic('a correction on the full disk: not checked under a file-size limit (a small write still fits under it)');

  disk.grow();
  // The last new issue opened before the disk filled (its only member) is found at once: the index,
  // never saved by the failed run, is brought up to date from the database.
  const m = vaat(['match', '--log', last.input, '--store', store, '--json', '-k', '1']);
  assert.equal(m.code, 0, m.err);
  const top = (JSON.parse(m.out) as { matches: Array<{ issue: number; score: number }> }).matches[0]!;
  assert.deepEqual([top.issue, top.score], [last.issue, 1]);

  const second = run();
  assert.equal(second.code, 0, second.err);
  const again = parse(second.out);
  const byInput = new Map(lines.map((l) => [l.input, l]));
  for (const l of again) {
    const before = byInput.get(l.input)!;
    if (before.decision !== 'failed') {
      assert.equal(l.decision, 'same-dump', `${l.input} was stored by the first run`);
      assert.equal(l.signature, before.signature);
    } else assert.notEqual(l.decision, 'failed', `${l.input}: ${l.error}`);
  }
  assert.equal(new Set(again.map((l) => l.signature)).size, N, 'every input stored once');
});

test('an index file written short is found (hnswlib\'s save checks nothing): cut anywhere, or with bytes past its end', () => {
  const dir = tempDir('vaat-hnswshort-');
  const dim = 8;
  const idx = VectorIndex.empty(dim, DEFAULT_INDEX, 64);
  let seq = 0;
  for (let i = 1; i <= 40; i++) idx.add(i, Float32Array.from({ length: dim }, (_, j) => Math.sin(i * 7 + j)), ++seq);
  idx.save(dir, 1);
  const file = path.join(dir, 'index.hnsw');
  assert.equal(checkHnswFile(file, 40), null);
  const whole = fs.readFileSync(file);
  const cut = path.join(dir, 'cut.hnsw');
  for (const n of [50, whole.length - 1, whole.length - 3, Math.floor(whole.length / 2)]) {
    fs.writeFileSync(cut, whole.subarray(0, n));
    assert.match(checkHnswFile(cut, 40) ?? 'whole', /short|shorter|inside/, `cut at ${n} of ${whole.length}`);
  }
  fs.writeFileSync(cut, Buffer.concat([whole, Buffer.alloc(4)]));
  assert.match(checkHnswFile(cut, 40)!, /past its last element/);
  assert.match(checkHnswFile(file, 41)!, /holds 40 elements/);
  fs.rmSync(cut);

  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('an index save on a full disk fails as the store\'s storage, leaves no temporary file, and the index saved before stays whole', (t) => {
  const tmp = tempDir('vaat-hnswfull-');
  const disk = smallDisk(path.join(tmp, 'disk'), 2, 1);
  t.after(() => disk.release());
  const dir = path.join(tmp, 'disk', 'idx');
  fs.mkdirSync(dir);
  const dim = 8;
  const point = (i: number) => Array.from({ length: dim }, (_, j) => Math.sin(i * 7 + j));
  // 2,000 points (about 0.6 MB) saved while there is room; then the disk is filled to 0.3 MB free and an index of 4,000 is saved over it.
  const idx = VectorIndex.empty(dim, DEFAULT_INDEX, 4096);
  for (let i = 1; i <= 2000; i++) idx.add(i, Float32Array.from(point(i)), i);
  idx.save(dir, 1);
  const before = fs.readFileSync(path.join(dir, 'index.hnsw'));
  const sidecar = fs.readFileSync(path.join(dir, 'index.json'));
  if (disk.how.startsWith('tmpfs')) {
    const free = () => Number(spawnSync('df', ['--output=avail', '-B1', dir], { encoding: 'utf8' }).stdout.trim().split('\n').pop());
    fs.writeFileSync(path.join(tmp, 'disk', 'filler'), Buffer.alloc(Math.max(0, free() - (300 << 10))));
  }
  const script = path.join(tmp, 'save.mjs');
  const lib = (m: string) => JSON.stringify(path.resolve('dist/src/similarity', m));
  fs.writeFileSync(script, `
import { VectorIndex, DEFAULT_INDEX } from ${lib('hnsw.js')};
import { storageFailure } from ${lib('store.js')};
const idx = VectorIndex.empty(${dim}, DEFAULT_INDEX, 4096);
for (let i = 1; i <= 4000; i++) idx.add(i, Float32Array.from({ length: ${dim} }, (_, j) => Math.sin(i * 7 + j)), i);
try { idx.save(${JSON.stringify(dir)}, 1); console.log('saved'); } catch (e) { console.log(JSON.stringify({ storage: storageFailure(e), message: e.message })); }
`);
  const r = disk.node([script]);
  assert.equal(r.code, 0, r.err);
  disk.grow();
  const res = JSON.parse(r.out.trim()) as { storage: string | null; message: string };
  assert.notEqual(res.storage, null, res.message);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), []);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'index.hnsw')), before);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'index.json')), sidecar);
});

test('ingest --signatures on a disk that fills: the batch that failed is rolled back and said, nothing after it is read, and a second run stores the rest', (t) => {
  const tmp = tempDir('vaat-diskfull-sig-');
  const logs = path.join(tmp, 'logs');
  fs.mkdirSync(logs);
  for (const r of syzbotReports().slice(0, 1500)) fs.writeFileSync(path.join(logs, `${r.id}.txt`), r.report);
  const sigs = path.join(tmp, 'sigs.jsonl');
  assert.equal(vaat(['signature', '--batch', logs, '--logs', '-o', sigs]).code, 0);
  const disk = smallDisk(path.join(tmp, 'disk'), 6, 5); // a batch of 500 writes about 3.4 MB of log
  t.after(() => disk.release());
  t.diagnostic(disk.how);
  const store = path.join(tmp, 'disk', 'store');
  const run = () => disk.node([VAAT, 'ingest', '--signatures', sigs, '--store', store, '--json']);
  const first = run();
  assert.doesNotMatch(first.err, /Node\.js v|^\s+at /m, 'no crash');
  assert.equal(first.code, 2, first.err);
  assert.match(first.err, /the store cannot take writes: .*the last batch of 500 or fewer was rolled back/);
  const lines = parse(first.out);
  const cut = lines.findIndex((l) => l.decision === 'failed');
  assert.ok(cut > 0 && cut % 500 === 0, `whole batches stored before the failure (${cut})`);
  assert.equal(lines.length, cut + 500, 'the failed batch said, nothing after it');
  for (const l of lines.slice(cut)) assert.match(l.error!, /^not ingested: the store cannot take writes/);
  disk.grow();
  const again = parse(run().out);
  assert.equal(again.length, 1500);
  assert.equal(again.filter((l) => l.decision === 'same-dump').length, cut, 'what the first run printed as stored is stored, nothing of the failed batch');
  assert.equal(again.filter((l) => l.decision === 'failed').length, 0);
});

test('a store on a read-only filesystem: opening it says why, in one line', (t) => {
  const tmp = tempDir('vaat-rostore-');
  const fsm = mountTmpfs(path.join(tmp, 'ro'), 16);
  if (!fsm.mounted) {
    t.skip(`needs a filesystem of its own to make read-only (${fsm.how})`);
    return;
  }
  t.after(() => {
    fsm.readOnly(false);
    fsm.release();
  });
  const store = path.join(tmp, 'ro', 'store');
  const log = path.join(tmp, 'a.log');
  fs.writeFileSync(log, syzbotReports()[0]!.report);
  assert.equal(vaat(['ingest', '--logs', log, '--store', store]).code, 0);
  fsm.readOnly();
  // It was "unable to open database file" and nothing more: SQLite's words for a write-ahead-log
  // database whose directory cannot take its -wal and -shm files.
  const r = vaat(['issue', 'list', '--store', store]);
  assert.equal(r.code, 1);
  assert.equal(r.err, `vaat: issue: ${path.join(store, 'store.db')}: cannot open the store database: unable to open database file (${store} cannot be written: EROFS; the store keeps its write-ahead log beside the database, also to be read)\n`);
});
