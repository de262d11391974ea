// The leave-one-out harness: expected ranks under ties, RR@1 and MRR on
// hand-made cases, and the evaluation on the seven shared dumps by
// root-cause class (the numbers the README states).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { expectedRank, leaveOneOut, evaluate, ripKey } from '../../datasets/loo.js';
import { loadLabelled, labelClass } from '../../datasets/labelled.js';
import { SHARED, openFixture } from '../helpers/fixtures.js';
import { signatureFromDump } from '../../features/signature.js';
import { materialize } from '../../src/util/zst.js';

test('expected rank: strictly closer items count fully, ties count at their average position', () => {
  assert.equal(expectedRank([0.1, 0.5, 0.9], [true, false, false]), 1);
  assert.equal(expectedRank([0.1, 0.5, 0.9], [false, true, false]), 2);
  // One relevant among three tied at distance 0: expected position (3+1)/(1+1) = 2.
  assert.equal(expectedRank([0, 0, 0], [true, false, false]), 2);
  // Two relevant among four tied: (4+1)/(2+1).
  assert.ok(Math.abs(expectedRank([0, 0, 0, 0], [true, true, false, false]) - 5 / 3) < 1e-12);
});

test('leave-one-out: a perfect matcher scores 1, a matcher that ties everything scores its chance level', () => {
  const labels = ['a', 'a', 'b', 'b', 'c'];
  const items = [0, 1, 10, 11, 20];
  const perfect = leaveOneOut(items, labels, (x, y) => Math.abs(x - y));
  assert.equal(perfect.queries, 4, 'c has no other item: not a query');
  assert.equal(perfect.rr1, 1);
  assert.equal(perfect.mrr, 1);
  const blind = leaveOneOut(items, labels, () => 0);
  // Each query: 4 others tied, 1 relevant → the relevant one is equally likely at 1..4:
  // RR@1 = 1/4, MRR = (1 + 1/2 + 1/3 + 1/4) / 4.
  assert.ok(Math.abs(blind.rr1 - 0.25) < 1e-12, String(blind.rr1));
  assert.ok(Math.abs(blind.mrr - (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4) < 1e-12, String(blind.mrr));
});

test('the shared dumps by root-cause class: the full signature finds same-class dumps the panic stack cannot', () => {
  const set = loadLabelled(path.join(SHARED, 'vmcores'));
  assert.equal(set.length, 7);
  const sigs = set.map((d) => signatureFromDump(openFixture(path.basename(path.dirname(d.path))), materialize(d.path)));
  const labels = set.map((d) => labelClass(d.label));
  const [full, rip, frames, title] = evaluate(sigs, labels);
  assert.equal(full!.queries, 4);
  assert.equal(ripKey(sigs[0]!).split('|').length, 3);
  assert.ok(full!.rr1 > rip!.rr1 && full!.rr1 > frames!.rr1 && full!.rr1 > title!.rr1, JSON.stringify([full, rip, frames, title].map((s) => s!.rr1)));
  assert.equal(full!.rr1, 0.75);
});
