// The locks family's comparison on what the machine state says, checked
// against crash's `ps` (which tasks are in D state) and the dumps' labels:
// a stray blocked task waiting on no lock is weak evidence, a contended lock
// on one side only is a real difference, and an rwsem's read/write mode is
// part of the mechanism.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, fixtureSignature } from '../helpers/fixtures.js';
import { compareLocks } from '../../src/similarity/compare/locks.js';
import { defaultParams, score } from '../../src/similarity/scorer.js';
import { viewOf } from '../../src/similarity/view.js';
import type { CompareContext } from '../../src/similarity/compare/types.js';
import type { LockEntry, LocksPart } from '../../features/locks.js';

const ctx: CompareContext = { frames: { n: 0, df: () => 0 }, params: defaultParams(), machine: true };
const sig = fixtureSignature;
const uninterruptible = (name: string) => fixture(name).crash('ps').split('\n').filter((l) => /\sUN\s/.test(l)).length;

test('a soft lockup with one stray D-state kworker against a dump with none: weak evidence, not a difference', () => {
  // crash's ps: one kworker in UN on the soft lockup, none on the sysrq crash.
  assert.equal(uninterruptible('softlockup'), 1);
  assert.equal(uninterruptible('sysrq'), 0);
  const soft = sig('softlockup').locks!;
  const sysrq = sig('sysrq').locks!;
  assert.equal(soft.blocked, 1);
  assert.equal(soft.locks.length, 0, 'the kworker waits on no lock');
  assert.equal(sysrq.blocked, 0);
  const s = compareLocks(soft, sysrq, ctx);
  assert.equal(s.score, ctx.params.strayBlocked / 1);
  assert.match(s.differed.join(';'), /one side only \(1 \/ 0\), waiting on no lock/);
});

test('a hung task on a contended mutex against a dump with no blocked task: the locks family says they differ', () => {
  assert.match(fixture('hung').meta.label, /mutex held forever/);
  assert.equal(uninterruptible('hung'), sig('hung').locks!.blocked);
  const s = compareLocks(sig('hung').locks!, sig('sysrq').locks!, ctx);
  assert.equal(s.score, 0);
  assert.match(s.differed.join(';'), /waiting on a lock/);
  // A task in a mutex's slow path whose lock was not resolved is still a lock wait, not a stray one.
  const unresolved: LocksPart = { blocked: 1, waitKinds: { mutex: 1 }, locks: [], chains: [], deadlock: false };
  assert.equal(compareLocks(unresolved, sig('sysrq').locks!, ctx).score, 0);
  // Two hung tasks on the same dump agree fully, and a mutex has no read/write mode to compare.
  const same = compareLocks(sig('hung').locks!, sig('hung').locks!, ctx);
  assert.equal(same.score, 1);
  assert.equal(same.components?.mode, null);
});

test('rwsem mode: held for read with writers waiting is not held for write with readers waiting', () => {
  const entry = (held: 'read' | 'write', waitFor: string[]): LockEntry => ({
    name: 'lock', module: null, kind: 'rwsem', waiters: 2, waiterComms: ['task'], held, waitFor,
    holder: { comm: 'task', pid: 1, state: 'ID', frames: ['schedule_timeout', 'modfn'], offCpuS: 1, onCpuS: null },
  });
  const part = (e: LockEntry): LocksPart => ({ blocked: 2, waitKinds: { rwsem: 2 }, locks: [e], chains: [], deadlock: false });
  const reader = part(entry('read', ['write']));
  const writer = part(entry('write', ['read']));
  const same = compareLocks(reader, part(entry('read', ['write'])), ctx);
  const diff = compareLocks(reader, writer, ctx);
  assert.equal(same.score, 1);
  assert.equal(diff.components?.mode, 0);
  assert.ok(diff.score! < same.score!);
  assert.ok(diff.differed.includes('held for read / for write'), diff.differed.join(';'));
  // A signature made before the mode was recorded compares as before: the component is left out.
  const old = part({ ...entry('write', []), held: undefined, waitFor: undefined });
  assert.equal(compareLocks(reader, old, ctx).components?.mode, null);
});

test('lock holders sleeping in the same primitive share the mechanism even when their callers are named differently', () => {
  // crash's `foreach bt`: the shared hung dump's mutex holder (pid 126) sleeps in schedule_timeout under lab_holder.
  const bt = fixture('hung').crash('foreach-bt');
  const holderBt = bt.slice(bt.indexOf('PID: 126 '), bt.indexOf('PID: 127 '));
  assert.match(holderBt, /#2 \[[0-9a-f]+\] schedule_timeout at .*\n #3 \[[0-9a-f]+\] lab_holder at /);
  const hung = sig('hung').locks!;
  assert.deepEqual(hung.locks[0]!.holder!.frames, ['schedule_timeout', 'lab_holder [labcrash]']);
  const withHolder = (frames: string[], name = 'other_mutex'): LocksPart => ({
    ...hung,
    locks: [{ ...hung.locks[0]!, name, holder: { ...hung.locks[0]!.holder!, frames } }],
  });
  // The same sleep under another function: the primitive's share of the holder component, no more.
  const renamed = compareLocks(hung, withHolder(['schedule_timeout', 'reset_handler [labcrash]']), ctx);
  assert.ok(Math.abs(renamed.components!.holder! - ctx.params.holderPrimitiveShare) < 1e-9, String(renamed.components!.holder));
  // Another primitive under the very same function scores below it: the wait is the mechanism.
  const other = compareLocks(hung, withHolder(['wait_for_completion_state', 'lab_holder [labcrash]']), ctx);
  assert.ok(other.components!.holder! < renamed.components!.holder!, `${other.components!.holder} vs ${renamed.components!.holder}`);
  assert.match(other.differed.join(';'), /holders block in different primitives: schedule_timeout \/ wait_for_completion_state/);
});

test('holders of locks of different kinds are not compared: a mutex holder and an rwsem reader asleep alike are no agreement (scorer version 9)', () => {
  // crash's `foreach bt` (above): the hung dump's mutex holder sleeps in schedule_timeout. The same
  // holder under an rwsem held for read is what the lab's rwsem-reader scenario looks like.
  const hung = sig('hung').locks!;
  assert.equal(hung.locks[0]!.kind, 'mutex');
  const asRwsem: LocksPart = { ...hung, waitKinds: { rwsem: hung.blocked }, locks: [{ ...hung.locks[0]!, kind: 'rwsem', held: 'read', waitFor: ['write'] }] };
  const s = compareLocks(hung, asRwsem, ctx);
  assert.equal(s.components?.lock, 0, 'locks of different types differ at full weight');
  assert.equal(s.components?.holder, null, 'their holders are not counterparts');
  assert.equal(s.components?.state, null);
  assert.doesNotMatch(s.agreed.join(';'), /holder/);
  assert.match(s.differed.join(';'), /locks differ: mutex lab_mutex \[labcrash\] \/ rwsem lab_mutex \[labcrash\]/);
  // The same holder under the same kind of lock still agrees.
  assert.equal(compareLocks(hung, hung, ctx).components?.holder, 1);
});

test('between two hung-task dumps the panic family weighs hungTaskPanic of its weight; other crashes keep theirs (scorer version 9)', () => {
  // The shared hung dump's console log: khungtaskd's report, a hung task.
  assert.match(fixture('hung').console(), /INFO: task \S+ blocked for more than \d+ seconds/);
  assert.match(fixture('nullderef').console(), /BUG: kernel NULL pointer dereference/);
  const p = defaultParams();
  assert.ok(p.hungTaskPanic !== undefined && p.hungTaskPanic < 1);
  const hung = viewOf(sig('hung'));
  assert.equal(hung.panic?.kind, 'hung-task');
  const s = score(hung, hung, { n: 0, df: () => 0 }, p);
  const evidence = s.families.panic.evidence ?? 1;
  assert.ok(Math.abs(s.families.panic.weight - p.families.panic! * evidence * p.hungTaskPanic!) < 1e-12, String(s.families.panic.weight));
  assert.equal(s.total, 1, 'a dump against itself still scores 1');
  const nd = viewOf(sig('nullderef'));
  const t = score(nd, nd, { n: 0, df: () => 0 }, p);
  assert.ok(Math.abs(t.families.panic.weight - p.families.panic! * (t.families.panic.evidence ?? 1)) < 1e-12);
  // A console log on a side: the machine state takes no part and nothing changes.
  assert.equal(score({ ...hung, locks: null, runqueue: null, cpu: null, cgroup: null } as typeof hung, hung, { n: 0, df: () => 0 }, p).families.panic.weight, p.consoleFamilies.panic! * (s.families.panic.evidence ?? 1));
});

test('a stray D-state kworker on both sides (a soft lockup and a spinlock lockup): the family agrees, but weighs strayBlocked of its weight (scorer version 12)', () => {
  // crash's ps and foreach bt: one kworker in UN on each; on the soft lockup it waits in synchronize_rcu,
  // a grace period the stuck CPU holds up — a consequence of any stall, not the bug.
  assert.equal(uninterruptible('softlockup'), 1);
  assert.equal(uninterruptible('spinlockup'), 1);
  const bt = fixture('softlockup').crash('foreach-bt');
  const kworker = /\s(\d+)\s+\d+\s+\d+\s+\S+\s+UN\s/.exec(fixture('softlockup').crash('ps'))![1]!;
  const its = bt.slice(bt.indexOf(`PID: ${kworker} `)).split(/\n\s*\n/)[0]!;
  assert.match(its, /synchronize_rcu/);
  const a = sig('softlockup').locks!;
  const b = sig('spinlockup').locks!;
  assert.deepEqual([a.locks.length, b.locks.length], [0, 0]);
  const s = compareLocks(a, b, ctx);
  assert.equal(s.score, 1, 'the same kind of wait on both sides');
  assert.equal(s.evidence, ctx.params.strayBlocked);
  assert.match(s.differed.join(';'), /wait on no lock on either side/);
  // In the total the family weighs that much less.
  const t = score(viewOf(sig('softlockup')), viewOf(sig('spinlockup')), { n: 0, df: () => 0 }, ctx.params);
  assert.ok(Math.abs(t.families.locks.weight - ctx.params.families.locks * ctx.params.strayBlocked) < 1e-12);
  // A contended lock keeps the family's full weight.
  assert.equal(compareLocks(sig('hung').locks!, sig('hung').locks!, ctx).evidence, undefined);
});
