// The evaluation's arithmetic on hand-made cases whose answers are known:
// ranks under ties, AUC, B-cubed and WER's spray/bugs, average linkage, and
// bootstrap intervals. (These replace the leave-one-out harness's tests.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedFirstRelevant, rankQuery } from '../../src/similarity/eval/metrics/ranking.js';
import { auc, atThreshold, thresholdForPrecision, recallAtPrecision } from '../../src/similarity/eval/metrics/decision.js';
import { clusterMetrics } from '../../src/similarity/eval/metrics/clustering.js';
import { bootstrap, mean } from '../../src/similarity/eval/metrics/bootstrap.js';
import { averageLinkage } from '../../src/similarity/linkage.js';

test('expected rank: strictly better items count fully, ties at their average position', () => {
  assert.equal(expectedFirstRelevant([0.9, 0.5, 0.1], [true, false, false]).rank, 1);
  assert.equal(expectedFirstRelevant([0.9, 0.5, 0.1], [false, true, false]).rank, 2);
  // One relevant among three tied: expected position (3+1)/(1+1) = 2; RR@1 = 1/3.
  const t = expectedFirstRelevant([1, 1, 1], [true, false, false]);
  assert.equal(t.rank, 2);
  assert.ok(Math.abs(t.p1 - 1 / 3) < 1e-12);
  assert.ok(Math.abs(t.rr - (1 + 1 / 2 + 1 / 3) / 3) < 1e-12);
  // Two relevant among four tied: (4+1)/(2+1).
  assert.ok(Math.abs(expectedFirstRelevant([0, 0, 0, 0], [true, true, false, false]).rank - 5 / 3) < 1e-12);
});

test('a matcher that ties everything scores its chance level; a perfect one scores 1', () => {
  const pool = [1, 2, 3, 4];
  const blind = rankQuery(0, new Map(), pool, (i) => i === 2);
  assert.ok(Math.abs(blind.p1 - 0.25) < 1e-12);
  assert.ok(Math.abs(blind.rr - (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4) < 1e-12);
  const perfect = rankQuery(0, new Map([[2, 0.9], [1, 0.1]]), pool, (i) => i === 2);
  assert.deepEqual(perfect, { p1: 1, rr: 1, ap: 1, r5: 1, r10: 1 });
});

test('AUC: perfect separation 1, reversed 0, ties count half; precision and recall at a threshold', () => {
  assert.equal(auc([0.9, 0.8], [0.1, 0.2]), 1);
  assert.equal(auc([0.1], [0.9]), 0);
  assert.equal(auc([0.5], [0.5]), 0.5);
  assert.equal(auc([], [0.5]), null);
  const pts = [
    { best: 0.9, bestRelevant: true, hasRelevant: true },
    { best: 0.8, bestRelevant: false, hasRelevant: true },
    { best: 0.7, bestRelevant: false, hasRelevant: false },
    { best: 0.2, bestRelevant: false, hasRelevant: true },
  ];
  assert.deepEqual(atThreshold(pts, 0.75), { precision: 0.5, recall: 1 / 3, calls: 2 });
  assert.equal(thresholdForPrecision(pts, 0.95, 1), 0.9);
  assert.equal(thresholdForPrecision(pts, 0.95, 2), null);
  // A call held by the recurrence guard is no call: the wrong 0.8 held, precision at 0.75 is 1/1.
  const held = pts.map((p, i) => (i === 1 ? { ...p, held: true } : p));
  assert.deepEqual(atThreshold(held, 0.75), { precision: 1, recall: 1 / 3, calls: 1 });
  assert.equal(thresholdForPrecision(held, 0.95, 1), 0.8);
  assert.equal(recallAtPrecision(held, 0.95, 1), 1 / 3);
});

test('B-cubed, bucket spray and bucket bugs on a known clustering', () => {
  // Labels a a b b c; clusters {a a}, {b}, {b c}.
  const m = clusterMetrics(['a', 'a', 'b', 'b', 'c'], [0, 0, 1, 2, 2]);
  // Per item precision: 1 1 1 .5 .5 → .8; recall: 1 1 .5 .5 1 → .8.
  assert.ok(Math.abs(m.precision - 0.8) < 1e-12);
  assert.ok(Math.abs(m.recall - 0.8) < 1e-12);
  assert.equal(m.spray, 0.5, 'b is split; a is not (c has one item)');
  assert.equal(m.bugs, 0.5, '{b c} mixes; {a a} does not ({b} has one item)');
});

test('average linkage: textbook on a complete graph, deterministic, cut at the threshold', () => {
  const e = [
    { a: 0, b: 1, similarity: 0.9 }, { a: 1, b: 2, similarity: 0.8 }, { a: 0, b: 2, similarity: 0.7 },
    { a: 3, b: 4, similarity: 0.95 }, { a: 2, b: 3, similarity: 0.3 },
  ];
  assert.deepEqual(averageLinkage(5, e, 0.5), [0, 0, 0, 1, 1]);
  // {0,1} vs 2: mean (0.8 + 0.7) / 2 = 0.75 < 0.76.
  assert.deepEqual(averageLinkage(5, e, 0.76), [0, 0, 1, 2, 2]);
  // Missing pairs as zeros: {0,1,2} vs {3,4} = 0.3 / 6 = 0.05.
  assert.deepEqual(averageLinkage(5, e, 0.06, 'zero'), [0, 0, 0, 1, 1]);
  assert.deepEqual(averageLinkage(5, e, 0.04, 'zero'), [0, 0, 0, 0, 0]);
  assert.deepEqual(averageLinkage(5, [...e].reverse(), 0.5), averageLinkage(5, e, 0.5), 'edge order does not matter');
});

test('bootstrap: the interval holds the value, is seeded, and narrows with more data', () => {
  const xs = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? 1 : 0));
  const a = bootstrap(xs, mean, { seed: 3 })!;
  assert.equal(a.value, 0.25);
  assert.ok(a.lo < 0.25 && a.hi > 0.25);
  assert.deepEqual(bootstrap(xs, mean, { seed: 3 }), a);
  const b = bootstrap(xs.slice(0, 40), mean, { seed: 3 })!;
  assert.ok(b.hi - b.lo > a.hi - a.lo);
});
