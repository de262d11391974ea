// vaat ingest and vaat match on the seven shared dumps, as a user runs them:
// ingesting twice stores nothing new; a killed ingest loses no decision it
// printed and leaves a store that opens and answers; two ingests at once on
// one store both finish with every input stored once; each dump's own
// console log (the serial console that saw it die: an independent text)
// matches the issue its dump opened; a match months old, or to an issue
// marked fixed from a release it was never seen on, waits for a person;
// calibrated thresholds carry the scorer version that made them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { vaat, vaatAsync } from '../helpers/cli.js';
import { KERNEL_DIR } from '../helpers/fixtures.js';
import { loadLabelled } from '../../datasets/labelled.js';
import { openSqliteStore } from '../../src/similarity/sqlite.js';
import { recurrenceDays } from '../../src/similarity/decide.js';
import { defaultParams } from '../../src/similarity/scorer.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('vaat-ingest-');
const dumps = loadLabelled(path.dirname(KERNEL_DIR));
const lines = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { input: string; decision: string; issue: number | null; signature: number | null; hash: string | null });

test('ingesting the shared dumps twice: the second run stores nothing and reports every input same-dump', () => {
  const store = path.join(tmp, 'twice');
  const a = vaat(['ingest', '--store', store, '--json', path.dirname(KERNEL_DIR)]);
  assert.equal(a.code, 0, a.err);
  const first = lines(a.out);
  assert.equal(first.length, 7);
  for (const r of first) assert.ok(['new', 'duplicate', 'uncertain'].includes(r.decision), `${r.input}: ${r.decision}`);
  // Seven root causes (the shared labels): with the shipped vmcore thresholds each dump opens an
  // issue of its own — none is called a duplicate, and none waits in another's issue as uncertain.
  assert.equal(new Set(dumps.map((d) => d.label)).size, 7);
  assert.deepEqual(first.map((r) => r.decision), new Array(7).fill('new'));
  const b = vaat(['ingest', '--store', store, '--json', path.dirname(KERNEL_DIR)]);
  assert.equal(b.code, 0, b.err);
  const second = lines(b.out);
  assert.deepEqual(second.map((r) => r.decision), new Array(7).fill('same-dump'));
  assert.deepEqual(second.map((r) => r.signature), first.map((r) => r.signature));
  const text = vaat(['issue', 'list', '--store', store]);
  assert.match(text.out, /\n7 issues|\n\d issues, 7 signatures/);
  // A person's mistakes are said as theirs, in one line, not as vaat's own ("internal error", as
  // every one of them was).
  const issue = first[0]!.issue!;
  const other = first[1]!.issue!;
  for (const [args, said] of [
    [['show', '999'], 'no issue #999'],
    [['merge', String(issue), String(issue)], 'an issue cannot be merged into itself'],
    [['label', 'zzz', String(issue)], 'no signature zzz (an id, or the start of a hash)'],
    [['split', String(other), String(first[0]!.signature)], `signature ${first[0]!.signature} is not in #${other}`],
    [['status', String(issue), 'done'], 'status done: one of open, fixed, closed, invalid'],
  ] as Array<[string[], string]>) {
    const r = vaat(['issue', ...args, '--store', store]);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.err, `vaat: issue: ${said}\n`);
  }
  assert.equal(vaat(['issue', 'show', 'abc', '--store', store]).err, 'vaat: issue: issue must be a number: abc\n');
});

test('commands that only read or correct a store refuse a directory without one, and leave nothing there; a bad input is said as the user\'s', () => {
  // `vaat issue list --store /etc` made /etc/store.db, and a mistyped --store became a new empty store.
  const missing = path.join(tmp, 'no-such-store');
  const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
  const log = path.join(path.dirname(dumps[0]!.path), 'console.log');
  for (const [what, args] of [
    ['cluster', ['cluster']], ['reindex', ['reindex']], ['issue', ['issue', 'list']], ['match', ['match', '--log', log]], ['similarity-report', ['similarity-report', '-o', path.join(tmp, 'r.html')]],
  ] as Array<[string, string[]]>) {
    for (const dir of [missing, empty]) {
      const r = vaat([...args, '--store', dir]);
      assert.equal(r.code, 1, `${args.join(' ')} ${dir}`);
      assert.equal(r.err, `vaat: ${what}: no store in ${dir} (vaat ingest makes one; --store DIR or VAAT_STORE says where)\n`);
    }
  }
  assert.ok(!fs.existsSync(missing));
  assert.deepEqual(fs.readdirSync(empty), []);
  // Inputs that are not what the command reads: one line each, never "internal error".
  const text = path.join(tmp, 'a-text-file');
  fs.writeFileSync(text, 'not a manifest\n');
  for (const [args, said] of [
    [['match', '--log', path.join(tmp, 'nonexistent'), '--store', empty], new RegExp(`^vaat: ${path.join(tmp, 'nonexistent')}: ENOENT`)],
    [['match', text, '--store', empty], new RegExp(`^vaat: ${text}: not a vmcore: this is a text file`)],
    [['eval', '--set', text], new RegExp(`^vaat: eval: ${text}: not JSON`)],
    [['eval', '--set', path.dirname(KERNEL_DIR), '--protocol', 'sideways'], /^vaat: eval: --protocol sideways: one of /],
  ] as Array<[string[], RegExp]>) {
    const r = vaat(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.err, said);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.doesNotMatch(r.err, /internal error/);
  }
  // Numeric options out of range or not numbers are refused before anything runs (they went on as
  // NaN, 0 or a negative count: --jobs 0 ingested, -k abc answered nothing).
  for (const [args, said] of [
    [['ingest', '--jobs', '0', '--logs', log, '--store', missing], "option '-j, --jobs <n>' argument '0' is invalid. a whole number from 1 to 256"],
    [['match', '--log', log, '-k', 'abc', '--store', empty], "option '-k <n>' argument 'abc' is invalid. a whole number from 1 to 50"],
    [['cluster', '--threshold', '1.5', '--store', empty], "option '--threshold <t>' argument '1.5' is invalid. a number from 0 to 1"],
    [['log', '--cache-pages', '-5', dumps[0]!.path], "option '--cache-pages <n>' argument '-5' is invalid. a whole number from 1 to 16777216"],
  ] as Array<[string[], string]>) {
    const r = vaat(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.err.split('\n')[0], `error: ${said}`);
  }
  assert.ok(!fs.existsSync(missing));
});

test('a new store whose first ingest failed (garbage) takes the next one, and the one after', () => {
  // The first run stores nothing and leaves an empty index file; hnswlib read it back with room for
  // no element, and every later ingest failed ("Hnswlib Error: Not enough memory") before the
  // process aborted with a corrupted heap — a store that could never take a dump again.
  const store = path.join(tmp, 'first-failed');
  const garbage = path.join(tmp, 'garbage.log');
  fs.writeFileSync(garbage, Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 251)));
  const a = vaat(['ingest', '--store', store, '--json', '--logs', garbage]);
  assert.equal(a.code, 2, a.err); // some input failed
  assert.equal(lines(a.out)[0].decision, 'failed');
  assert.ok(fs.existsSync(path.join(store, 'index.hnsw')), 'the failed run left its empty index');
  const logs = dumps.slice(0, 2).map((d) => path.join(path.dirname(d.path), 'console.log')).filter((f) => fs.existsSync(f));
  assert.equal(logs.length, 2);
  for (const log of logs) {
    const b = vaat(['ingest', '--store', store, '--json', '--logs', log]);
    assert.equal(b.code, 0, b.err);
    assert.equal((lines(b.out)[0] as { error?: string | null }).error, null);
    assert.ok(['new', 'duplicate', 'uncertain'].includes(lines(b.out)[0].decision));
  }
});

test('already-extracted signatures (signature --batch JSONL): the decisions of ingesting the dumps; bad lines fail alone', () => {
  const dir = path.dirname(KERNEL_DIR);
  const fromDumps = vaat(['ingest', '--store', path.join(tmp, 'dumps-j1'), '--jobs', '1', '--json', dir]);
  assert.equal(fromDumps.code, 0, fromDumps.err);
  const jsonl = path.join(tmp, 'shared.jsonl');
  const w = vaat(['signature', '--batch', dir, '--vector', '-o', jsonl]);
  assert.equal(w.code, 0, w.err);
  const store = path.join(tmp, 'from-jsonl');
  const a = vaat(['ingest', '--signatures', '--store', store, '--json', jsonl]);
  assert.equal(a.code, 0, a.err);
  const key = (r: { hash: string | null; decision: string; issue: number | null }) => `${r.hash} ${r.decision} #${r.issue}`;
  assert.deepEqual(lines(a.out).map(key), lines(fromDumps.out).map(key));
  assert.equal(lines(a.out).length, 7);
  // Again, with a file of bad lines: every stored one is same-dump, each bad line its own failure, exit 2.
  const bad = path.join(tmp, 'bad.jsonl');
  fs.writeFileSync(bad, 'not json\n{"source": {"name": "x.kdump", "path": "/x.kdump"}, "error": "truncated dump"}\n{"version": 1}\n');
  const b = vaat(['ingest', '--signatures', '--store', store, '--json', jsonl, bad]);
  assert.equal(b.code, 2, b.err);
  const out = lines(b.out) as Array<{ input: string; decision: string; error?: string | null }>;
  assert.deepEqual(out.map((r) => r.decision), [...new Array(7).fill('same-dump'), 'failed', 'failed', 'failed']);
  assert.match(out[7]!.error!, /line 1: .*JSON/);
  assert.match(out[8]!.error!, /extraction failed: truncated dump/);
  assert.match(out[9]!.error!, /line 3: signature does not match its schema/);
});

test('a console log matches the issue its own dump opened; the decision says duplicate on the console scale', () => {
  const store = path.join(tmp, 'twice');
  for (const d of dumps) {
    const m = vaat(['match', '--store', store, '--log', d.console!, '--json']);
    assert.equal(m.code, 0, m.err);
    const r = JSON.parse(m.out) as { matches: Array<{ issue: number; score: number; signature: { name: string } }>; decision: { verdict: string; scale: string } };
    const dumpMatch = JSON.parse(vaat(['match', '--store', store, d.path, '--json']).out) as { matches: Array<{ issue: number; score: number }> };
    assert.equal(dumpMatch.matches[0]!.score, 1, `${d.name}: the dump finds its own signature`);
    assert.equal(r.matches[0]!.issue, dumpMatch.matches[0]!.issue, `${d.name}: console log and dump point at the same issue`);
    assert.ok(r.matches[0]!.score >= 0.95, `${d.name}: ${r.matches[0]!.score}`);
    assert.equal(r.decision.scale, 'console');
  }
});

test('a match stored months ago is held at uncertain (decision.json recurrenceDays), a recent one stays duplicate', async () => {
  const days = recurrenceDays();
  const store = path.join(tmp, 'aged');
  fs.cpSync(path.join(tmp, 'twice'), store, { recursive: true });
  const age = async (d: number) => {
    const db = openSqliteStore(store);
    db.db.prepare('UPDATE signatures SET ingested_at = ?').run(new Date(Date.now() - d * 86_400_000).toISOString());
    await db.close();
  };
  const d = dumps[0]!;
  await age(days + 30);
  const m = JSON.parse(vaat(['match', '--store', store, '--log', d.console!, '--json']).out) as { decision: { verdict: string; gapDays: number; held: string | null }; matches: Array<{ score: number }> };
  assert.ok(m.matches[0]!.score >= 0.95, 'as duplicate-worthy a score as in the test above');
  assert.equal(m.decision.verdict, 'uncertain');
  assert.ok(Math.abs(m.decision.gapDays - (days + 30)) < 1, String(m.decision.gapDays));
  assert.match(m.decision.held!, new RegExp(`stored ${days + 30} days ago`));
  const text = vaat(['match', '--store', store, '--log', d.console!]);
  assert.match(text.out, /DECISION {2}uncertain[^\n]*\n {10}best match stored \d+ days ago/);
  // Ingest decides the same way, and says why.
  const ing = lines(vaat(['ingest', '--store', store, '--logs', '--json', d.console!]).out)[0] as unknown as { decision: string; reasons: string[] };
  assert.equal(ing.decision, 'uncertain');
  assert.ok(ing.reasons.some((r) => /held at uncertain/.test(r)), JSON.stringify(ing.reasons));
  await age(days - 30);
  const recent = JSON.parse(vaat(['match', '--store', store, '--log', dumps[1]!.console!, '--json']).out) as { decision: { verdict: string; held: string | null } };
  assert.equal(recent.decision.verdict, 'duplicate');
  assert.equal(recent.decision.held, null);
});

test('a match to an issue marked fixed: duplicate on a kernel it was seen on, held at uncertain on another (a regression?)', () => {
  const store = path.join(tmp, 'fixed');
  fs.cpSync(path.join(tmp, 'twice'), store, { recursive: true });
  const d = dumps[0]!;
  const own = JSON.parse(vaat(['match', '--store', store, d.path, '--json']).out) as { matches: Array<{ issue: number; signature: { release: string } }> };
  const issue = own.matches[0]!.issue;
  const release = own.matches[0]!.signature.release;
  assert.equal(vaat(['issue', 'status', String(issue), 'fixed', '--store', store]).code, 0);
  // The dump's own console log names the same release (its "Linux version" / "Not tainted" lines).
  const log = fs.readFileSync(d.console!, 'utf8');
  assert.ok(log.includes(release), `${d.name}: the console log names ${release}`);
  const same = JSON.parse(vaat(['match', '--store', store, '--log', d.console!, '--json']).out) as { decision: { verdict: string; issue: number; held: string | null } };
  assert.equal(same.decision.verdict, 'duplicate', 'a kernel the issue was seen on has the bug: a known, fixed-elsewhere issue');
  assert.equal(same.decision.issue, issue);
  assert.equal(same.decision.held, null);
  // The same report from a later build of that kernel.
  const later = release.replace(/^(\d+\.\d+\.\d+-)(\d+)/, (_m, a: string, n: string) => `${a}${Number(n) + 3}`);
  assert.notEqual(later, release);
  const moved = path.join(tmp, 'later-console.log');
  fs.writeFileSync(moved, log.split(release).join(later));
  const m = JSON.parse(vaat(['match', '--store', store, '--log', moved, '--json']).out) as { decision: { verdict: string; issue: number; held: string | null }; matches: Array<{ score: number }> };
  assert.ok(m.matches[0]!.score >= 0.95, String(m.matches[0]!.score));
  assert.equal(m.decision.verdict, 'uncertain');
  assert.equal(m.decision.issue, issue);
  assert.match(m.decision.held!, new RegExp(`#${issue} is marked fixed and was never seen on ${later.replace(/[.+]/g, '\\$&')} \\(seen on ${release.replace(/[.+]/g, '\\$&')}\\)`));
  const ing = lines(vaat(['ingest', '--store', store, '--logs', '--json', moved]).out)[0] as unknown as { decision: string; issue: number; reasons: string[] };
  assert.equal(ing.decision, 'uncertain');
  assert.equal(ing.issue, issue);
  assert.ok(ing.reasons.some((r) => /marked fixed/.test(r)), JSON.stringify(ing.reasons));
});

test('calibrated thresholds carry the scorer version; a store calibrated by another scorer says so when opened', async () => {
  const store = path.join(tmp, 'calibrated');
  fs.cpSync(path.join(tmp, 'twice'), store, { recursive: true });
  const e = vaat(['eval', '--set', path.dirname(KERNEL_DIR), '--calibrate', '--store', store, '--rounds', '10']);
  assert.equal(e.code, 0, e.err);
  const version = defaultParams().version;
  const read = async () => {
    const db = openSqliteStore(store);
    const c = await db.config<Record<string, { duplicate: number; new: number; scorer?: number }>>('thresholds');
    await db.close();
    return c!;
  };
  const cfg = await read();
  // The shared dumps are vmcores: that scale is calibrated, by this scorer.
  assert.equal(cfg.vmcore!.scorer, version);
  assert.equal(cfg.console, undefined);
  const quiet = vaat(['match', '--store', store, dumps[0]!.path]);
  assert.equal(quiet.code, 0, quiet.err);
  assert.doesNotMatch(quiet.err, /calibrated/);
  // Another scorer's vmcore thresholds, and console thresholds from before versions were recorded.
  const db = openSqliteStore(store);
  await db.setConfig('thresholds', { vmcore: { ...cfg.vmcore, scorer: version - 1 }, console: { duplicate: 0.95, new: 0.49 } });
  await db.close();
  const told = vaat(['match', '--store', store, dumps[0]!.path]);
  assert.equal(told.code, 0, told.err);
  assert.match(told.err, new RegExp(`vmcore thresholds were calibrated with scorer version ${version - 1}; this vaat scores with version ${version}`));
  assert.match(told.err, /console thresholds were calibrated by an older vaat \(scorer version not recorded\)/);
});

test('kill -9 in the middle of an ingest: every decision it printed is stored, the store opens and answers', async () => {
  const store = path.join(tmp, 'killed');
  const run = vaatAsync(['ingest', '--store', store, '--json', '--jobs', '1', ...dumps.map((d) => d.path)]);
  // Wait for the second printed decision, then kill without warning.
  for (let i = 0; i < 600 && run.out().split('\n').filter(Boolean).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  run.child.kill('SIGKILL');
  const res = await run.done;
  assert.equal(res.signal, 'SIGKILL');
  const printed = lines(res.out.split('\n').filter((l) => l.endsWith('}')).join('\n'));
  assert.ok(printed.length >= 2 && printed.length < 7, `${printed.length} decisions printed before the kill`);
  const s = openSqliteStore(store);
  for (const p of printed) assert.ok(await s.findByHash(p.hash!), `${p.input}: printed ${p.decision} but not stored`);
  await s.close();
  const list = vaat(['issue', 'list', '--store', store]);
  assert.equal(list.code, 0, list.err);
  const again = vaat(['ingest', '--store', store, '--json', ...dumps.map((d) => d.path)]);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /index (missing|not used)/, 'the index the killed process never wrote is rebuilt');
  const after = lines(again.out);
  assert.equal(after.filter((r) => r.decision === 'same-dump').length >= printed.length, true);
  const s2 = openSqliteStore(store);
  assert.equal(await s2.count(), 7);
  await s2.close();
});

test('two ingests at once on one store: both finish, every input is stored once', async () => {
  const store = path.join(tmp, 'concurrent');
  const order = dumps.map((d) => d.path);
  const a = vaatAsync(['ingest', '--store', store, '--json', '--jobs', '1', ...order]);
  const b = vaatAsync(['ingest', '--store', store, '--json', '--jobs', '1', ...[...order].reverse()]);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.code, 0, ra.err);
  assert.equal(rb.code, 0, rb.err);
  const la = lines(ra.out);
  const lb = lines(rb.out);
  assert.equal(la.length, 7);
  assert.equal(lb.length, 7);
  // Each input was stored by exactly one of them; the other saw it as the same dump.
  for (const p of order) {
    const da = la.find((r) => r.input === p)!;
    const db = lb.find((r) => r.input === p)!;
    const stored = [da, db].filter((r) => r.decision !== 'same-dump');
    assert.equal(stored.length, 1, `${p}: ${da.decision} / ${db.decision}`);
    assert.equal(da.signature, db.signature);
  }
  const s = openSqliteStore(store);
  assert.equal(await s.count(), 7);
  await s.close();
});
