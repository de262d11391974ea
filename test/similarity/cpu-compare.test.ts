// The cpu family's idle share (scorer version 12, view version 5). A panic without kdump stops the
// other CPUs and clears them from cpu_online_mask, so a dump QEMU captured after it counts one CPU
// online while both CPUs still show what they ran: crash's `sys` says "CPUS: 2 [OFFLINE: 1]" and its
// `runq` a current task on each. The share is over the CPUs that showed a state, and never above 1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, fixtureSignature } from '../helpers/fixtures.js';
import { compareCpu } from '../../src/similarity/compare/cpu.js';
import { defaultParams } from '../../src/similarity/scorer.js';
import { viewOf } from '../../src/similarity/view.js';
import type { CompareContext } from '../../src/similarity/compare/types.js';

const ctx: CompareContext = { frames: { n: 0, df: () => 0 }, params: defaultParams(), machine: true };

test('a QEMU capture after a panic: one CPU online, two with a state; the idle share stays a share', () => {
  const sys = fixture('timer').crash('sys');
  const m = /CPUS: (\d+) \[OFFLINE: (\d+)\]/.exec(sys)!;
  assert.ok(m, 'crash counts an offline CPU');
  const cpus = Number(m[1]);
  const offline = Number(m[2]);
  const currents = (fixture('timer').crash('runq').match(/CURRENT: PID:/g) ?? []).length;
  assert.equal(currents, cpus, 'every CPU shows what it ran');
  const v = viewOf(fixtureSignature('timer')).cpu!;
  assert.equal(v.online, cpus - offline);
  assert.equal(v.stated, cpus);
  // The same machine with one of its CPUs idle, against the kdump-captured sysrq dump (two CPUs
  // online, none idle): half its CPUs idle, not 1 / 1 online — the old share gave an idle
  // agreement of 1 − |1 − 0| = 0, and 1 − |2 − 0| < 0 with a third CPU.
  const sysrq = viewOf(fixtureSignature('sysrq')).cpu!;
  assert.equal(sysrq.online, 2);
  assert.equal(sysrq.idle, 0);
  const oneIdle = { ...v, idle: 1 };
  assert.equal(compareCpu(oneIdle, sysrq, ctx).components?.idle, 0.5);
  for (const idle of [0, 1, 2, 3]) {
    const c = compareCpu({ ...v, idle, stated: undefined }, sysrq, ctx).components!.idle!;
    assert.ok(c >= 0 && c <= 1, `a view stored before version 5 (idle ${idle} of ${v.online} online): ${c}`);
  }
});
