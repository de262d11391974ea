// The mechanism parts of a panic stack that generic-frame dropping would
// otherwise hide: the context a crash ran in (process, softirq, hardirq, NMI),
// the crash's own frames (an interrupt's stack without what it interrupted),
// and, for a stuck CPU, the lock primitive it spins in. Checked against the
// shared dumps' labels and crash's `bt`, and against a syzbot report's text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, fixtureSignature } from '../helpers/fixtures.js';
import { syzbotReports } from '../helpers/syzbot.js';
import { signatureFromConsole } from '../../features/signature.js';
import { executionContext, ownFrames } from '../../features/panic.js';
import { stuckPrimitive } from '../../features/locks.js';
import { viewOf } from '../../src/similarity/view.js';
import { score } from '../../src/similarity/scorer.js';

const sig = fixtureSignature;

test('timer: the NULL write in an hrtimer callback ran in hardirq context; its own frames stop at the interrupt', () => {
  const f = fixture('timer');
  assert.match(f.meta.label, /hardirq/);
  // crash shows the crash on the IRQ stack, above the exception the interrupt came in on.
  const bt = f.crash('bt');
  assert.match(bt, /--- <IRQ stack> ---/);
  assert.match(bt, /do_user_addr_fault/);
  const frames = sig('timer').panic!.frames;
  assert.equal(executionContext(frames), 'hardirq');
  const own = ownFrames(frames, 'hardirq');
  assert.ok(own.length < frames.length);
  assert.ok(own.some((x) => x.startsWith('hrtimer_interrupt')));
  assert.ok(!own.some((x) => x.startsWith('do_user_addr_fault')), own.join(' < '));
});

test('nullderef: the same kind of write from module init is process context, its stack kept whole', () => {
  assert.match(fixture('nullderef').meta.label, /process context/);
  const frames = sig('nullderef').panic!.frames;
  assert.equal(executionContext(frames), 'process');
  assert.deepEqual(ownFrames(frames, 'process'), frames);
  // The scorer says so when the two are compared.
  const s = score(viewOf(sig('timer')), viewOf(sig('nullderef')));
  assert.ok(s.families.panic!.differed.includes('crashed in different contexts: hardirq / process'), JSON.stringify(s.families.panic));
});

test('softlockup: a spinner with preemption off spins in no lock primitive; hung tasks are not stuck CPUs', () => {
  assert.match(fixture('softlockup').meta.label, /spins with preemption disabled/);
  const p = sig('softlockup').panic!;
  assert.equal(p.kind, 'soft-lockup');
  assert.equal(stuckPrimitive(p.kind, p.frames), null);
  const h = sig('hung').panic!;
  assert.equal(stuckPrimitive(h.kind, h.frames), undefined);
});

test('a syzbot soft lockup spinning on a socket lock: the primitive is the lock call the report shows above the caller', () => {
  const r = syzbotReports().find((x) => x.id === 'S00399')!;
  assert.match(r.title, /soft lockup/);
  // The report's own trace: the slow path, then the _bh lock call, then (past inlined lines) lock_sock_nested.
  assert.match(r.report, /queued_spin_lock_slowpath[\s\S]*\n _raw_spin_lock_bh\+[^\n]*\n(?:[^\n]*\[inline\]\n)* lock_sock_nested\+/);
  const p = signatureFromConsole(r.report, r.id).panic!;
  assert.equal(stuckPrimitive(p.kind, p.frames), '_raw_spin_lock_bh');
});

test('a softirq run on an interrupt\'s exit is softirq context, cut at the interrupt entry', () => {
  const frames = ['fn', 'call_timer_fn', '__run_timers', 'run_timer_softirq', 'handle_softirqs', '__irq_exit_rcu', 'sysvec_apic_timer_interrupt', 'asm_sysvec_apic_timer_interrupt', 'default_idle', 'do_idle'];
  assert.equal(executionContext(frames), 'softirq');
  assert.deepEqual(ownFrames(frames, 'softirq'), frames.slice(0, 8));
  // A context marker decides only when no entry frame does.
  assert.equal(executionContext(['fn', '<IRQ>', 'call_timer_fn', 'run_timer_softirq']), 'softirq');
  assert.equal(executionContext(['fn', '<IRQ>', 'x']), 'hardirq');
});
