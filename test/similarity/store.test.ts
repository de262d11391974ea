// The embedded store: numbered migrations (an older store is migrated, a
// newer or foreign one refused with a clear message), uniqueness by input
// hash enforced by the database, and the HNSW index file rebuilt from the
// database whenever it is missing, truncated, altered or stale.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, MIGRATIONS, SCHEMA_VERSION } from '../../src/similarity/sqlite.js';
import { Engine } from '../../src/similarity/engine.js';
import { DEFAULT_INDEX } from '../../src/similarity/hnsw.js';
import { signatureFromConsole } from '../../features/signature.js';
import { vectorize } from '../../features/vector.js';
import { viewOf } from '../../src/similarity/view.js';
import { syzbotReports } from '../helpers/syzbot.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('vaat-store-');

function sample(n: number) {
  // Real console reports of distinct root causes.
  const seen = new Set<string>();
  const out = [];
  for (const r of syzbotReports()) {
    if (seen.has(r.cluster)) continue;
    seen.add(r.cluster);
    out.push({ r, sig: signatureFromConsole(r.report, `${r.id}.txt`) });
    if (out.length >= n) break;
  }
  return out;
}

test('a store written by the first schema is migrated; a newer one and a foreign database are refused', async () => {
  const dir = path.join(tmp, 'old');
  fs.mkdirSync(dir);
  const db = new Database(path.join(dir, 'store.db'));
  MIGRATIONS[0]!.up(db);
  db.pragma('user_version = 1');
  const { sig } = sample(1)[0]!;
  db.prepare(`INSERT INTO signatures (hash, hash_kind, kind, path, name, bytes, release, title, crash_kind, document, log_text, vector, vector_version, rules_version, ingested_at)
              VALUES (?, 'sha256', 'console', NULL, ?, ?, NULL, ?, ?, ?, NULL, ?, 1, 'old', ?)`)
    .run(sig.source.hash, sig.source.name, sig.source.bytes, sig.panic!.title, sig.panic!.kind, JSON.stringify(sig), Buffer.from(vectorize(sig).buffer), new Date().toISOString());
  db.close();
  const notices: string[] = [];
  const store = openSqliteStore(dir, { notice: (l) => notices.push(l) });
  assert.equal((await store.meta()).schemaVersion, SCHEMA_VERSION);
  assert.match(notices.join('\n'), new RegExp(`migrated from 1 to ${SCHEMA_VERSION}`));
  // Migration 2 filled the scoring view from the stored document; migration 4 moved it to a table of its own.
  assert.deepEqual((await store.views([1])).get(1), viewOf(sig));
  await store.close();

  const newer = path.join(tmp, 'newer');
  fs.mkdirSync(newer);
  const db2 = new Database(path.join(newer, 'store.db'));
  db2.pragma('user_version = 999');
  db2.close();
  assert.throws(() => openSqliteStore(newer), /written by a newer vaat \(store schema 999; this vaat knows up to \d+\)/);

  const foreign = path.join(tmp, 'foreign');
  fs.mkdirSync(foreign);
  const db3 = new Database(path.join(foreign, 'store.db'));
  db3.exec('CREATE TABLE t (x)');
  db3.close();
  assert.throws(() => openSqliteStore(foreign), /not a vaat store/);
});

test('an input is stored once: the database refuses a second row with the same hash', async () => {
  const store = openSqliteStore(path.join(tmp, 'unique'));
  const engine = await Engine.open(store);
  const [{ sig, r }] = sample(1);
  const a = await engine.ingest(sig!, { path: r!.id, logText: r!.report });
  const b = await engine.ingest(sig!, { path: r!.id, logText: r!.report });
  assert.equal(a.decision, 'new');
  assert.equal(b.decision, 'same-dump');
  assert.equal(b.signature, a.signature);
  assert.equal(await store.count(), 1);
  await engine.close();
});

test('the index file: missing, truncated or altered → rebuilt from the database with a notice; intact → used', async () => {
  const dir = path.join(tmp, 'index');
  const reports = sample(30);
  let store = openSqliteStore(dir);
  let engine = await Engine.open(store);
  const opened = [];
  for (const { r, sig } of reports) if ((await engine.ingest(sig, { path: r.id, logText: r.report })).decision === 'new') opened.push({ r, sig });
  await engine.close();
  const file = path.join(dir, 'index.hnsw');
  assert.ok(fs.existsSync(file) && fs.existsSync(path.join(dir, 'index.json')));
  // A report that opened an issue: the issue's only member, found again with score 1.
  const probe = opened[3]!;
  const reopen = async () => {
    const notices: string[] = [];
    store = openSqliteStore(dir);
    engine = await Engine.open(store, { notice: (l) => notices.push(l) });
    const m = await engine.match(probe.sig, { k: 1 });
    await engine.close();
    return { notices, top: m.matches[0] };
  };
  const intact = await reopen();
  assert.deepEqual(intact.notices, []);
  assert.equal(intact.top!.score, 1);
  const good = fs.readFileSync(file);
  fs.writeFileSync(file, good.subarray(0, good.length >> 1));
  const cut = await reopen();
  assert.match(cut.notices.join('\n'), /truncated or replaced\)\): rebuilding it from the store's 30 signatures/);
  assert.equal(cut.top!.score, 1);
  const garbage = Buffer.from(good);
  for (let i = 64; i < garbage.length; i += 97) garbage[i] ^= 0xff;
  fs.writeFileSync(file, garbage);
  const bad = await reopen();
  assert.match(bad.notices.join('\n'), /does not match its checksum \(corrupt\)/);
  assert.equal(bad.top!.score, 1);
  fs.rmSync(file);
  const gone = await reopen();
  assert.match(gone.notices.join('\n'), /rebuilding it from the store's 30 signatures/);
  assert.deepEqual((await reopen()).notices, [], 'the rebuilt index was saved');
  // An index built with the M of an older vaat is still used (its graph is intact), with the current
  // efSearch, and a notice says that reindex rebuilds it.
  const side = path.join(dir, 'index.json');
  const sc = JSON.parse(fs.readFileSync(side, 'utf8'));
  assert.deepEqual(sc.params, DEFAULT_INDEX);
  fs.rmSync(file);
  store = openSqliteStore(dir);
  engine = await Engine.open(store, { index: { ...DEFAULT_INDEX, m: 16, efSearch: 128 } });
  await engine.close();
  assert.equal(JSON.parse(fs.readFileSync(side, 'utf8')).params.m, 16);
  const older = await reopen();
  assert.deepEqual(older.notices, [`index built with M 16, this vaat uses M ${DEFAULT_INDEX.m}: vaat reindex rebuilds it`]);
  assert.equal(older.top!.score, 1);
});

test('memberships read again are what the database holds: after another connection moves one, and after a rolled-back move', async () => {
  const dir = path.join(tmp, 'members');
  const a = openSqliteStore(dir);
  const engine = await Engine.open(a);
  const ids: number[] = [];
  for (const { sig, r } of sample(3)) ids.push((await engine.ingest(sig, { path: r.id, logText: r.report })).signature!);
  // The reference: a connection of its own, no cache.
  const raw = new Database(path.join(dir, 'store.db'), { readonly: true });
  const truth = () => new Map((raw.prepare('SELECT signature_id, issue_id, pending FROM memberships').all() as Array<{ signature_id: number; issue_id: number; pending: number }>).map((m) => [m.signature_id, m.issue_id]));
  const seen = async () => new Map([...(await a.memberships(ids))].map(([id, m]) => [id, m.issueId]));
  assert.deepEqual(await seen(), truth());
  const before = truth();
  assert.equal(new Set(before.values()).size, 3, 'three distinct reports open three issues');

  // Another connection (another process's `vaat issue label`) moves the first into the second's issue.
  const b = openSqliteStore(dir);
  await b.setMembership(ids[0]!, before.get(ids[1]!)!, 'human', null);
  await b.close();
  assert.equal(truth().get(ids[0]!), before.get(ids[1]!));
  assert.deepEqual(await seen(), truth());

  // This connection moves the third inside a write that fails: the move is rolled back and not remembered.
  await assert.rejects(a.exclusive(async () => {
    await a.setMembership(ids[2]!, before.get(ids[0]!)!, 'human', null);
    assert.equal((await a.memberships([ids[2]!])).get(ids[2]!)?.issueId, before.get(ids[0]!), 'inside the write its own move is visible');
    throw new Error('failed on purpose');
  }), /failed on purpose/);
  assert.equal(truth().get(ids[2]!), before.get(ids[2]!));
  assert.deepEqual(await seen(), truth());

  // And one that commits is seen at once.
  await a.setMembership(ids[2]!, before.get(ids[0]!)!, 'human', null);
  assert.deepEqual(await seen(), truth());
  assert.equal(truth().get(ids[2]!), before.get(ids[0]!));
  raw.close();
  await engine.close();
});

test('three processes opening the same new stores at once: every open succeeds, each store is created once', async () => {
  // Two connections switching a new database to WAL at once get SQLITE_BUSY without waiting,
  // and a version read before another process's migration committed made its tables look
  // foreign: before the fix, 2-7 of 600 opens failed in each run of this test.
  const root = path.join(tmp, 'race');
  const n = 150;
  const sqlite = new URL('../../src/similarity/sqlite.js', import.meta.url).href;
  const code = `const { openSqliteStore } = await import(${JSON.stringify(sqlite)});
    const failed = [];
    for (let i = 0; i < ${n}; i++) {
      try { const s = openSqliteStore(${JSON.stringify(root)} + '/' + i); await s.close(); } catch (e) { failed.push(e.message); }
    }
    process.stdout.write(JSON.stringify(failed));`;
  const { spawn } = await import('node:child_process');
  const run = () => new Promise<string[]>((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (c) => (c === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`child exited ${c}`))));
  });
  const results = await Promise.all([run(), run(), run()]);
  assert.deepEqual(results.flat(), []);
  for (let i = 0; i < n; i++) {
    const db = new Database(path.join(root, String(i), 'store.db'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal((db.prepare("SELECT count(*) AS n FROM meta WHERE key = 'created_at'").get() as { n: number }).n, 1);
    db.close();
  }
});
