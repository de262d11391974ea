// Scorer version 8: a name's rarity is counted over known issues, not
// signatures. The store keeps per-issue counts as memberships change (ingest,
// uncertain members waiting, a person's label, confirm, merge and split); after
// every step they must equal a count made here from scratch over the issues'
// members. Real syzbot reports: a root cause's repeats must not make its names
// look common.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, MIGRATIONS } from '../../src/similarity/sqlite.js';
import { Engine } from '../../src/similarity/engine.js';
import { rarityNames } from '../../src/similarity/view.js';
import { labelSignature, confirmIssue, mergeIssues, splitIssue } from '../../src/similarity/issues.js';
import type { Store } from '../../src/similarity/store.js';
import type { FrameStats } from '../../src/similarity/frames.js';
import { signatureFromConsole } from '../../features/signature.js';
import { vectorize } from '../../features/vector.js';
import { viewOf } from '../../src/similarity/view.js';
import { syzbotReports } from '../helpers/syzbot.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('vaat-names-');

/** In how many issues each name occurs, over members that are not pending: counted here, issue by issue. */
async function byHand(store: Store): Promise<Map<string, number>> {
  const out = new Map<string, Set<number>>();
  for (const i of await store.issues()) {
    const members = (await store.members(i.id)).filter((m) => !m.pending);
    const views = await store.views(members.map((m) => m.signatureId));
    for (const m of members) {
      for (const n of rarityNames(views.get(m.signatureId)!)) {
        if (!out.has(n)) out.set(n, new Set());
        out.get(n)!.add(i.id);
      }
    }
  }
  return new Map([...out].map(([n, s]) => [n, s.size]));
}

const sorted = (m: Map<string, number>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));

async function same(store: Store, step: string): Promise<void> {
  const kept = await store.nameCounts();
  assert.deepEqual(sorted(kept.df), sorted(await byHand(store)), step);
}

/** Root causes with at least `min` reports, their reports (distinct texts). */
function clusters(count: number, min: number) {
  const by = new Map<string, Array<{ id: string; report: string }>>();
  for (const r of syzbotReports()) {
    if (!by.has(r.cluster)) by.set(r.cluster, []);
    if (!by.get(r.cluster)!.some((x) => x.report === r.report)) by.get(r.cluster)!.push(r);
  }
  return [...by.values()].filter((rs) => rs.length >= min).slice(0, count);
}

test('names are counted per issue as memberships change: ingest, pending, label, confirm, merge, split', async () => {
  const store = openSqliteStore(path.join(tmp, 'ops'));
  // Thresholds that make every close call uncertain (pending) or duplicate, so both kinds occur.
  await store.setConfig('thresholds', { console: { duplicate: 0.9, new: 0.5 } });
  const engine = await Engine.open(store);
  const frames = (engine as unknown as { frames: FrameStats }).frames;
  const sets = clusters(12, 3);
  assert.equal(sets.length, 12);
  const results = [];
  for (const rs of sets) for (const r of rs.slice(0, 3)) results.push(await engine.ingest(signatureFromConsole(r.report, `${r.id}.txt`), { path: null, logText: r.report }));
  const decisions = results.map((r) => r.decision);
  assert.ok(decisions.includes('new') && decisions.includes('duplicate') && decisions.includes('uncertain'), decisions.join(','));
  await same(store, 'after ingest');
  // The engine's own counts, kept as it decided, are the store's.
  const kept = await store.nameCounts();
  for (const [n, df] of kept.df) assert.equal(frames.df(n), df, n);
  assert.equal(frames.n, kept.issues);

  const issues = (await store.issues()).map((i) => i.id);
  const withPending = (await store.issues()).find((i) => i.pending > 0);
  assert.ok(withPending, 'an issue with a pending member');
  await confirmIssue(store, withPending.id);
  await same(store, 'after confirm');
  const first = results.find((r) => r.decision === 'new')!;
  const other = issues.find((i) => i !== first.issue)!;
  await labelSignature(store, String(first.signature), other);
  await same(store, 'after label');
  await mergeIssues(store, issues[0]!, issues[1]!);
  await same(store, 'after merge');
  const big = (await store.issues()).sort((a, b) => b.size - a.size)[0]!;
  const members = await store.members(big.id);
  await splitIssue(store, big.id, [String(members[members.length - 1]!.signatureId)]);
  await same(store, 'after split');
  await store.removeMembership(members[0]!.signatureId);
  await same(store, 'after remove');
  await engine.close();
});

test('a root cause repeating does not make its names common; the same names in another issue do', async () => {
  const store = openSqliteStore(path.join(tmp, 'repeats'));
  const engine = await Engine.open(store);
  const r = syzbotReports().find((x) => signatureFromConsole(x.report, 'x').panic?.frames.length)!;
  const sig = signatureFromConsole(r.report, 'a.txt');
  const names = rarityNames(viewOf(sig));
  assert.ok(names.length > 3);
  const a = await engine.ingest(sig, { path: null, logText: r.report });
  // The same report as it arrives again (one line more: another input, the same crash).
  const again = r.report + '\nrepeat\n';
  const b = await engine.ingest(signatureFromConsole(again, 'b.txt'), { path: null, logText: again });
  assert.equal(a.decision, 'new');
  assert.equal(b.decision, 'duplicate');
  assert.equal(b.issue, a.issue);
  const c1 = await store.nameCounts(names);
  for (const n of names) assert.equal(c1.df.get(n), 1, n);
  // A person puts the repeat in an issue of its own: now two issues carry the names.
  await splitIssue(store, a.issue!, [String(b.signature)]);
  const c2 = await store.nameCounts(names);
  for (const n of names) assert.equal(c2.df.get(n), 2, n);
  assert.equal(c2.issues, 2);
  await engine.close();
});

test('a store from before per-issue counts (schema 4) is counted once when an engine opens it', async () => {
  const dir = path.join(tmp, 'schema4');
  fs.mkdirSync(dir);
  const db = new Database(path.join(dir, 'store.db'));
  for (const m of MIGRATIONS.filter((x) => x.version <= 4)) m.up(db);
  db.pragma('user_version = 4');
  const rs = clusters(2, 2);
  let id = 0;
  for (const [k, set] of rs.entries()) {
    db.prepare("INSERT INTO issues (title, created_at, updated_at) VALUES (?, 'now', 'now')").run(`issue ${k}`);
    for (const r of set.slice(0, 2)) {
      const sig = signatureFromConsole(r.report, `${r.id}.txt`);
      id++;
      db.prepare(`INSERT INTO signatures (hash, hash_kind, kind, path, name, bytes, release, title, crash_kind, document, log_text, vector, vector_version, rules_version, ingested_at)
                  VALUES (?, 'sha256', 'console', NULL, ?, ?, NULL, ?, ?, ?, NULL, ?, 1, 'old', 'now')`)
        .run(sig.source.hash, sig.source.name, sig.source.bytes, sig.panic!.title, sig.panic!.kind, JSON.stringify(sig), Buffer.from(vectorize(sig).buffer));
      db.prepare('INSERT INTO signature_views (signature_id, view) VALUES (?, ?)').run(id, JSON.stringify(viewOf(sig)));
      db.prepare("INSERT INTO memberships (signature_id, issue_id, decided_by, score, decided_at, pending) VALUES (?, ?, 'auto', NULL, 'now', 0)").run(id, k + 1);
    }
  }
  db.close();
  const store = openSqliteStore(dir);
  assert.equal((await store.meta()).namesCounted, false);
  const notices: string[] = [];
  const engine = await Engine.open(store, { notice: (l) => notices.push(l) });
  assert.match(notices.join('\n'), /counting names over known issues \(once/);
  assert.equal((await store.meta()).namesCounted, true);
  await same(store, 'after the first open');
  assert.ok((await store.nameCounts()).df.size > 5);
  await engine.close();
});

test('a person\'s merge in another process reaches a running engine at its next catch-up once its counts are older than namesMaxAgeMs', async () => {
  const dir = path.join(tmp, 'elsewhere');
  const store = openSqliteStore(dir);
  const engine = await Engine.open(store, { namesMaxAgeMs: 0 });
  const lagging = await Engine.open(openSqliteStore(dir));
  for (const rs of clusters(6, 2)) for (const r of rs.slice(0, 2)) await engine.ingest(signatureFromConsole(r.report, `${r.id}.txt`), { path: null, logText: r.report });
  await lagging.sync();
  const before = await store.nameCounts();
  // Another process (its own store handle) merges the two largest issues.
  const other = openSqliteStore(dir);
  const [a, b] = (await other.issues()).sort((x, y) => y.size - x.size);
  await mergeIssues(other, a!.id, b!.id);
  await other.close();
  const after = await store.nameCounts();
  const changed = [...before.df].filter(([n, df]) => after.df.get(n) !== df).map(([n]) => n);
  assert.ok(changed.length > 0, 'the merge moved some name\'s count');
  const counts = (e: Engine) => (e as unknown as { frames: FrameStats }).frames;
  await engine.sync();
  await lagging.sync();
  for (const n of changed) {
    assert.equal(counts(engine).df(n), after.df.get(n) ?? 0, `${n}: read afresh`);
    assert.equal(counts(lagging).df(n), before.df.get(n), `${n}: within a minute, still the old count`);
  }
  await lagging.close();
  await engine.close();
});

// A notice's catch-up in the background (a fleet worker's LISTEN) may come while a decision of the
// same engine commits. It sets counts to what the store holds; the decision adds its own names after
// its commit. Here the catch-up is asked for right after the commit and given time to run before the
// decision goes on: the engine's counts must still be the store's, not its names counted twice.
test('a background catch-up asked for during a decision\'s commit does not count the decision\'s names twice', async () => {
  const store = openSqliteStore(path.join(tmp, 'notice-race'));
  const engine = await Engine.open(store);
  const storeDecided = store.storeDecided.bind(store);
  let raced = 0;
  store.storeDecided = async (...a: Parameters<Store['storeDecided']>) => {
    const r = await storeDecided(...a);
    engine.syncSoon();
    raced++;
    await new Promise((res) => setTimeout(res, 120)); // longer than a catch-up's pace
    return r;
  };
  const counts = (engine as unknown as { frames: FrameStats }).frames;
  for (const rs of clusters(3, 2)) {
    for (const r of rs.slice(0, 2)) {
      const view = viewOf(signatureFromConsole(r.report, `${r.id}.txt`));
      await engine.ingest(signatureFromConsole(r.report, `${r.id}.txt`), { path: null, logText: r.report });
      const kept = await store.nameCounts();
      for (const n of rarityNames(view)) assert.equal(counts.df(n), kept.df.get(n) ?? 0, `${r.id}: ${n}`);
    }
  }
  assert.equal(raced, 6);
  await same(store, 'after the raced decisions');
  await engine.close();
});
