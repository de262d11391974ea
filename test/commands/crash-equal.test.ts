// ps, runq and runq -t print exactly what crash 8.0.6 printed for the same
// dumps (crash/ps.txt, runq.txt, runq-t.txt): byte for byte, which implies
// the same (PID, PPID, CPU, ST, COMM) rows and the same current and queued
// tasks per CPU.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtures, openFixture } from '../helpers/fixtures.js';
import { collectPs, renderPs } from '../../src/commands/ps.js';
import { collectRunq, renderRunq } from '../../src/commands/runq.js';

function sameLines(ours: string, theirs: string, what: string) {
  const a = ours.trimEnd().split('\n');
  const b = theirs.trimEnd().split('\n');
  assert.equal(a.length, b.length, `${what}: line count`);
  for (let i = 0; i < b.length; i++) assert.equal(a[i], b[i], `${what}: line ${i + 1}`);
}

for (const f of fixtures()) {
  test(`ps of ${f.name} equals crash's ps (crash/ps.txt)`, () => {
    const d = collectPs(openFixture(f.name));
    assert.equal(d.problems.length, 0, JSON.stringify(d.problems));
    sameLines(renderPs(d), f.crash('ps'), 'ps');
  });

  test(`runq and runq -t of ${f.name} equal crash's (crash/runq.txt, runq-t.txt)`, () => {
    const d = collectRunq(openFixture(f.name));
    assert.equal(d.problems.length, 0, JSON.stringify(d.problems));
    sameLines(renderRunq(d), f.crash('runq'), 'runq');
    sameLines(renderRunq(d, { timestamps: true }), f.crash('runq-t'), 'runq -t');
  });
}

test('runq -g shows the task group the oom dump\'s busy shell runs in', () => {
  const text = renderRunq(collectRunq(openFixture('oom')), { groups: true });
  assert.match(text, /GROUP CFS RB_ROOT: [0-9a-f]{16}  <\/lab-workload>\n\s+\[120\] PID: 118 /);
});

test('runq -c: fair-class table and imbalance summary (oom: 4 and 3 runnable tasks)', () => {
  const d = collectRunq(openFixture('oom'));
  assert.deepEqual(d.imbalance.nrRunning, [4, 3]);
  assert.equal(d.imbalance.busiestCpu, 0);
  assert.ok(!d.imbalance.idleWhileOverloaded);
  const text = renderRunq(d, { cfsTable: true });
  assert.match(text, /^IMBALANCE: nr_running per CPU \[4, 3\], max 4, mean 3\.50/m);
  assert.equal(d.cfs[1]!.currComm, 'dd');
});
