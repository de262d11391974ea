// The shipped thresholds (src/similarity/data/decision.json) are chosen on one scorer
// version's scores: a new version moves scores, so the defaults must be re-chosen (or
// re-checked) with it — the vmcore defaults once outlived seven versions unnoticed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultParams } from '../../src/similarity/scorer.js';
import { defaultThresholds, defaultThresholdsScorer, validThresholds } from '../../src/similarity/decide.js';

test('the shipped thresholds were chosen for the scorer version this vaat scores with', () => {
  const version = defaultParams().version;
  assert.deepEqual(defaultThresholdsScorer(), { console: version, vmcore: version });
  const t = defaultThresholds();
  assert.equal(validThresholds(t), null);
  // Only the two numbers travel: a store's config written from the defaults carries no stale stamp.
  assert.deepEqual(Object.keys(t.vmcore).sort(), ['duplicate', 'new']);
});
