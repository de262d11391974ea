// The query node's memory of match candidates (candidate-cache.ts), without a database: what the
// notices drop, when it may answer alone, and a read that a notice overtook.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CandidateCache, TRUST_MS, joinRows } from '../../src/similarity/candidate-cache.js';
import type { CandidateRows, Membership } from '../../src/similarity/store.js';

const member = (signatureId: number, issueId: number): Membership => ({ signatureId, issueId, decidedBy: 'auto', score: 0.9, decidedAt: '2026-12-07T00:00:00Z', pending: false });

function rows(ids: number[], issueOf: (id: number) => number, title = 'T'): CandidateRows {
  const out: CandidateRows = { members: new Map(), issues: new Map(), signatures: new Map(), config: null };
  for (const id of ids) {
    out.members.set(id, member(id, issueOf(id)));
    out.issues.set(issueOf(id), { id: issueOf(id), title: `${title}${issueOf(id)}`, status: 'open' });
  }
  return out;
}

test('the candidate cache answers alone only while listening and within TRUST_MS of a read; each notice drops what it names', () => {
  const c = new CandidateCache();
  const t0 = 1_000_000;
  // Not listening: everything is read, nothing is kept.
  assert.deepEqual(c.missing([1, 2], 'thresholds', t0), { ids: [1, 2], config: true });
  c.reached(t0);
  c.fill(c.epoch, [1, 2], 'thresholds', '{"a":1}', rows([1, 2], () => 10));
  assert.deepEqual(c.missing([1, 2], 'thresholds', t0), { ids: [1, 2], config: true });

  c.setListening(true);
  c.reached(t0);
  c.fill(c.epoch, [1, 2, 3], 'thresholds', '{"a":1}', rows([1, 2], (id) => 10 + id));
  assert.deepEqual(c.missing([1, 2, 3], 'thresholds', t0 + 10), { ids: [], config: false });
  const r = c.remembered([1, 2, 3], 'thresholds');
  const a = joinRows(r.rows, null, r.config ?? null);
  assert.deepEqual([...a.members.keys()], [1, 2]); // 3 has no membership: remembered as none
  assert.equal(a.issues.get(12)!.title, 'T12');
  assert.deepEqual(a.config, { a: 1 });
  // Too long since the store answered: read everything again.
  assert.deepEqual(c.missing([1], 'thresholds', t0 + TRUST_MS + 1).ids, [1]);

  // What was remembered when a match began stays in its answer, whatever notice comes during its read.
  const before = c.remembered([1, 2], 'thresholds');
  c.notice('m2');
  assert.deepEqual(c.missing([1, 2], 'thresholds', t0 + 10), { ids: [2], config: false });
  assert.deepEqual([...joinRows(before.rows, null, null).members.keys()], [1, 2]);
  c.notice('i11');
  assert.deepEqual(c.missing([1, 2], 'thresholds', t0 + 10), { ids: [1, 2], config: false });
  c.notice('cthresholds');
  assert.equal(c.missing([], 'thresholds', t0 + 10).config, true);
  c.notice('?');
  assert.deepEqual(c.missing([3], 'other', t0 + 10).ids, [3]);

  // A read that a notice overtook fills nothing; the answer is still the read's.
  const e = c.epoch;
  c.notice('m1');
  c.fill(e, [1], 'thresholds', null, rows([1], () => 99, 'X'));
  assert.deepEqual(c.missing([1], 'thresholds', t0 + 10).ids, [1]);
  const fresh = rows([1], () => 99, 'X');
  const joined = joinRows(c.remembered([], 'thresholds').rows, fresh, '{"b":2}');
  assert.equal(joined.issues.get(99)!.title, 'X99');
  assert.deepEqual(joined.config, { b: 2 });

  // Losing the listening connection forgets everything and stops answering alone.
  c.fill(c.epoch, [1], 'thresholds', null, rows([1], () => 5));
  assert.deepEqual(c.missing([1], 'thresholds', t0 + 10).ids, []);
  c.setListening(false);
  assert.deepEqual(c.missing([1], 'thresholds', t0 + 10).ids, [1]);
  c.setListening(true);
  c.reached(t0);
  assert.deepEqual(c.missing([1], 'thresholds', t0 + 10).ids, [1]);
});
