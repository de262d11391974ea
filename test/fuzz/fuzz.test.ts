// A small fixed slice of the fuzz campaign (npm run fuzz runs the long one):
// 40 mutated inputs, a fifth of the dumps also through report, bt -a and log.
// No run may crash, hang or run out of memory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VAAT } from '../helpers/cli.js';
import { SHARED } from '../helpers/fixtures.js';
import { fuzzBases, runCampaign, renderCampaign } from './bases.js';
import { tempDir } from '../helpers/tmp.js';

test('fuzz slice (seed 1, 40 cases): no crash, no hang, no out-of-memory', async () => {
  const out = tempDir('vaat-fuzz-slice-');
  const res = await runCampaign({ vaat: VAAT, bases: fuzzBases(SHARED, 1, 4), cases: 40, seed: 1, jobs: 2, timeoutMs: 60_000, heapMb: 2048, out });
  console.log(renderCampaign(res));
  for (const f of res.failures) console.log(`  ${f.count}× ${f.example}`);
  const bad = res.failures.filter((f) => /\b(crash|hang|oom)\b/.test(f.key));
  assert.deepEqual(bad.map((f) => f.example), []);
});
