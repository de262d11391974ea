// The HNSW index keeps one point per distinct vector: repeats of a crash
// (same vector, another input) join the group of the first, a search returns
// whole groups best first, and the groups are saved beside the graph and
// checked like it. Checked against exact search over the stored vectors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openSqliteStore } from '../../src/similarity/sqlite.js';
import { Engine } from '../../src/similarity/engine.js';
import { VectorIndex } from '../../src/similarity/hnsw.js';
import { vectorize, vectorDimension } from '../../features/vector.js';
import { crashesOfDistinctCauses } from '../helpers/syzbot.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('vaat-hnsw-');

test('repeats of one vector are one point; searches return their whole group, as exact search does; the groups survive a reopen', async () => {
  // 40 real reports of distinct root causes, each arriving 8 times (another input, the same text).
  const base = crashesOfDistinctCauses(40);
  const distinct = new Set(base.map((s) => Buffer.from(vectorize(s).buffer).toString('base64'))).size;
  const dir = path.join(tmp, 'twins');
  let store = openSqliteStore(dir);
  let engine = await Engine.open(store);
  const idsOf = new Map<number, number[]>();
  const opened = new Map<number, boolean>();
  for (let copy = 0; copy < 8; copy++) {
    for (const [i, s] of base.entries()) {
      const r = await engine.ingest({ ...s, source: { ...s.source, hash: `${s.source.hash}:${copy}`, name: `${s.source.name}#${copy}` } }, { path: null, logText: null });
      assert.notEqual(r.signature, null);
      idsOf.set(i, [...(idsOf.get(i) ?? []), r.signature!]);
      // A repeat of an input that opened an issue scores 1 against it (the console thresholds'
      // duplicate is 0.95); an uncertain first arrival waits for a person and is not matched against.
      if (copy === 0) opened.set(i, r.decision === 'new');
      else if (opened.get(i)) assert.equal(r.decision, 'duplicate', `${s.source.name} copy ${copy}`);
    }
  }
  await engine.close();
  assert.ok([...opened.values()].filter(Boolean).length >= 30, `${[...opened.values()].filter(Boolean).length} of 40 first arrivals opened an issue`);
  const side = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  assert.equal(side.format, 2);
  assert.equal(side.count, 320);
  assert.equal(side.points, distinct);

  // Exact search over the stored vectors is the reference.
  store = openSqliteStore(dir);
  const notices: string[] = [];
  const ix = await VectorIndex.open(store, dir, { dimension: vectorDimension(), vectorVersion: (await store.meta()).vectorVersion!, notice: (l) => notices.push(l) });
  assert.deepEqual(notices, [], 'the saved index and its groups are used as they are');
  assert.equal(ix.size, 320);
  assert.equal(ix.points, distinct);
  const stored = await store.vectorsAfter(0, 1000);
  for (const [i, s] of base.entries()) {
    const v = vectorize(s);
    const exact = stored.map((r) => ({ id: r.id, s: r.vector.reduce((a, x, k) => a + x * v[k]!, 0) })).sort((a, b) => b.s - a.s || a.id - b.id);
    const got = ix.search(v, 10);
    assert.deepEqual(got.map((g) => g.id), exact.slice(0, 10).map((e) => e.id), `${s.source.name}: the index's top ten are exact search's`);
    // Leaving one member out (leave-one-out evaluation) keeps its twins.
    const first = idsOf.get(i)![0]!;
    const without = ix.search(v, 10, (id) => id !== first).map((g) => g.id);
    assert.deepEqual(without, exact.filter((e) => e.id !== first).slice(0, 10).map((e) => e.id));
  }
  await store.close();

  // A damaged groups file, or an index of format 1 (a point per signature), is rebuilt with a notice.
  const reopen = async () => {
    const n: string[] = [];
    store = openSqliteStore(dir);
    engine = await Engine.open(store, { notice: (l) => n.push(l) });
    const m = await engine.match(base[5]!, { k: 1 });
    await engine.close();
    return { n, top: m.matches[0]! };
  };
  const ids = path.join(dir, 'index.ids');
  const good = fs.readFileSync(ids);
  fs.writeFileSync(ids, good.subarray(0, good.length - 16));
  const cut = await reopen();
  assert.match(cut.n.join('\n'), /index groups \(index\.ids\) missing or do not match their checksum\): rebuilding it from the store's 320 signatures/);
  assert.equal(cut.top.score, 1);
  assert.deepEqual((await reopen()).n, [], 'the rebuilt index was saved');
  // An index of format 1 (a point per signature, no index.ids): made here by inserting every stored
  // vector as its own point, as vaat did before; it is converted on open, not rebuilt.
  const v1 = VectorIndex.empty(vectorDimension());
  store = openSqliteStore(dir);
  const rows = await store.vectorsAfter(0, 1000);
  await store.close();
  const raw = (v1 as unknown as { hnsw: { addPoint(p: number[], l: number): void; writeIndexSync(f: string): void } }).hnsw;
  for (const r of rows) raw.addPoint(Array.from(r.vector), r.id);
  raw.writeIndexSync(path.join(dir, 'index.hnsw'));
  const sc = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  const st = fs.readFileSync(path.join(dir, 'index.hnsw'));
  const crypto = await import('node:crypto');
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ format: 1, vectorVersion: sc.vectorVersion, dimension: sc.dimension, seq: sc.seq, count: 320, bytes: st.length, sha256: crypto.createHash('sha256').update(st).digest('hex'), params: sc.params }));
  fs.rmSync(ids);
  const old = await reopen();
  assert.deepEqual(old.n, ['index of format 1 converted: its 320 points keyed, so that repeats join them from now on (twins it already holds stay separate points until vaat reindex)']);
  assert.equal(old.top.score, 1);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')).format, 2, 'saved as format 2');
  assert.deepEqual((await reopen()).n, []);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('an index saved empty and opened again takes signatures (hnswlib reads it back with room for none)', async () => {
  // A node stopped before anything was stored saves an empty index; the next start read it with
  // no room, and its first insert asked hnswlib for room for none — a heap corruption that killed
  // the service (glibc: "corrupted double-linked list") when a fleet test restarted it on an empty store.
  const dir = path.join(tmp, 'empty');
  let engine = await Engine.open(openSqliteStore(dir));
  await engine.close();
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')).count, 0);
  engine = await Engine.open(openSqliteStore(dir));
  const base = crashesOfDistinctCauses(40);
  for (const s of base) await engine.ingest(s, { path: null, logText: null });
  assert.equal(engine.indexSize, 40);
  await engine.close();
  const store = openSqliteStore(dir);
  const ix = await VectorIndex.open(store, dir, { dimension: vectorDimension(), vectorVersion: (await store.meta()).vectorVersion! });
  const v = vectorize(base[7]!);
  const got = ix.search(v, 1);
  assert.equal(got.length, 1);
  assert.ok(Math.abs(got[0]!.similarity - v.reduce((a, x) => a + x * x, 0)) < 1e-4, 'a stored report is its own nearest');
  await store.close();
});
