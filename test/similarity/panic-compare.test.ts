// The panic family's comparison where the mechanism differs (scorer versions 9 to 12): a stuck
// CPU's primitive, or a deadlock cycle on one side only, lowers what the names agree on, not the stacks alone. Checked on the
// shared soft-lockup dump, whose spinning CPU crash's `bt -a` shows in lab_spinner's own loop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, fixtureSignature } from '../helpers/fixtures.js';
import { comparePanic } from '../../src/similarity/compare/panic.js';
import { queuedPile } from '../../src/similarity/compare/runqueue.js';
import { defaultParams, score } from '../../src/similarity/scorer.js';
import { viewOf } from '../../src/similarity/view.js';
import type { CompareContext } from '../../src/similarity/compare/types.js';

const ctx: CompareContext = { frames: { n: 0, df: () => 0 }, params: defaultParams(), machine: true };

test('two soft-lockup dumps titled in one function, one spinning on a spinlock: title and guilty function agree at the primitive mismatch, not fully (console logs: only the stacks)', () => {
  const bt = fixture('softlockup').crash('bt-a');
  assert.match(bt, /lab_spinner/);
  assert.doesNotMatch(bt.slice(0, bt.indexOf('lab_spinner')).split('PID:').pop()!, /_raw_spin_lock|queued_spin_lock/, 'the stuck CPU spins in its own loop');
  const own = viewOf(fixtureSignature('softlockup')).panic!;
  assert.equal(own.kind, 'soft-lockup');
  assert.equal(own.primitive, null);
  const same = comparePanic(own, own, ctx);
  assert.equal(same.components?.title, 1);
  assert.equal(same.components?.guilty, 1);
  // The same report, but the CPU spins on a lock (what the lab's spinlockup scenario looks like).
  const onLock = { ...own, primitive: '_raw_spin_lock' };
  const s = comparePanic(own, onLock, ctx);
  assert.equal(s.components?.title, ctx.params.stuckPrimitiveMismatch);
  assert.equal(s.components?.guilty, ctx.params.stuckPrimitiveMismatch);
  assert.equal(s.components?.kind, 1, 'the crash kind is no name: it keeps its agreement');
  assert.match(s.differed.join(';'), /stuck CPUs spin in different primitives: none \(spinning on its own\) \/ _raw_spin_lock/);
  assert.ok(s.score! < same.score!);
  // With a console log on a side the title is the report's identity: only the stacks feel the primitive.
  const consoleSide = comparePanic(own, onLock, { ...ctx, machine: false });
  assert.equal(consoleSide.components?.title, 1);
  assert.equal(consoleSide.components?.guilty, 1);
  assert.ok(consoleSide.components!.stack! <= same.components!.stack! * ctx.params.stuckPrimitiveMismatch + 1e-12);
});

test('two hung-task dumps titled in one function, one a deadlock cycle: the panic names agree at deadlockMismatch, and only when the locks family takes part (scorer version 10)', () => {
  // The shared hung dump: crash's ps has the mutex holder asleep in D state, and the holder waits on
  // nothing the victims hold — a hang, no cycle.
  assert.match(fixture('hung').console(), /INFO: task \S+ blocked for more than \d+ seconds/);
  assert.match(fixture('hung').crash('ps'), /\sUN\s/);
  const hung = viewOf(fixtureSignature('hung'));
  assert.equal(hung.locks?.deadlock, false);
  const p = defaultParams();
  assert.ok(p.deadlockMismatch !== undefined && p.deadlockMismatch < 1);
  const none = { n: 0, df: () => 0 };
  const same = score(hung, hung, none, p);
  assert.equal(same.families.panic.components?.title, 1);
  // The same report over a lock state with a cycle (what the lab's abba scenario gives).
  const cycle = { ...hung, locks: { ...hung.locks!, deadlock: true } };
  const s = score(hung, cycle, none, p);
  assert.equal(s.families.panic.components?.title, p.deadlockMismatch);
  assert.equal(s.families.panic.components?.guilty, p.deadlockMismatch);
  assert.equal(s.families.panic.components?.kind, 1, 'the crash kind is no name: it keeps its agreement');
  assert.ok(s.families.panic.score! < same.families.panic.score!);
  // The panic family scored alone (a baseline of vaat eval) does not read the lock state.
  assert.equal(score(hung, cycle, none, p, ['panic']).families.panic.components?.title, 1);
});

test('two list corruptions from different list_debug checks: the panic names agree at checkMismatch between dumps only (scorer version 11)', () => {
  // The shared dumps hold no list corruption: the check is set on the null-deref dump's own view, as the
  // lab's use-after-free (prev->next) and overwritten-head (next->prev) runs carry it.
  const own = viewOf(fixtureSignature('nullderef')).panic!;
  const p = defaultParams();
  assert.ok(p.checkMismatch !== undefined && p.checkMismatch < 1);
  const a = { ...own, check: 'list_add corruption. prev->next should be next' };
  const b = { ...own, check: 'list_add corruption. next->prev should be prev' };
  const same = comparePanic(a, { ...a }, ctx);
  assert.equal(same.components?.title, 1);
  const s = comparePanic(a, b, ctx);
  assert.equal(s.components?.title, p.checkMismatch);
  assert.equal(s.components?.guilty, p.checkMismatch);
  assert.equal(s.components?.kind, 1);
  assert.match(s.differed.join(';'), /different checks fired: "list_add corruption\. prev->next should be next" \/ "list_add corruption\. next->prev should be prev"/);
  assert.ok(s.score! < same.score!);
  // A check on one side only says nothing; with a console log on a side nothing changes.
  assert.equal(comparePanic(a, own, ctx).components?.title, 1);
  assert.equal(comparePanic(a, b, { ...ctx, machine: false }).components?.title, 1);
});

test('two soft lockups, CPU-bound tasks of one program piled up behind one of them: the panic names agree at pileMismatch, only when the runqueue family takes part (scorer version 12)', () => {
  // crash's runq on the shared soft lockup: behind the spinner on CPU 0 only per-CPU kernel threads
  // (kworker/0:1, kworker/0:1H, ksoftirqd/0) are queued — a spinner alone.
  const runq = fixture('softlockup').crash('runq');
  const cpu0 = runq.slice(0, runq.indexOf('CPU 1 RUNQUEUE'));
  assert.match(cpu0, /CURRENT: PID: \d+\s+TASK: \S+\s+COMMAND: "labcrash-spin"/);
  const queued = [...cpu0.matchAll(/\[\d+\] PID: \d+\s+TASK: \S+\s+COMMAND: "([^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(queued.sort(), ['ksoftirqd/0', 'kworker/0:1', 'kworker/0:1H']);
  const soft = viewOf(fixtureSignature('softlockup'));
  assert.equal(soft.runqueue!.panicQueued.length, queued.length);
  assert.equal(queuedPile(soft.runqueue), 0, 'per-CPU kernel threads are no pile');
  const p = defaultParams();
  assert.ok(p.pileMismatch && p.pileMismatch.factor < 1);
  const none = { n: 0, df: () => 0 };
  // The same report with four threads of one program queued behind the spinner (what the lab's
  // runqueue-imbalance scenario leaves: CPU-bound threads pinned to the stuck CPU).
  const piled = { ...soft, runqueue: { ...soft.runqueue!, panicQueued: [...soft.runqueue!.panicQueued, 'hog', 'hog', 'hog', 'hog'] } };
  assert.equal(queuedPile(piled.runqueue), 4);
  // On one CPU whatever is runnable waits behind the spinner: no pile, whatever queued.
  assert.equal(soft.runqueue!.cpus, 2);
  assert.equal(queuedPile({ ...piled.runqueue!, cpus: 1 }), 0);
  assert.equal(score(soft, soft, none, p).families.panic.components?.title, 1);
  const s = score(soft, piled, none, p);
  assert.equal(s.families.panic.components?.title, p.pileMismatch.factor);
  assert.equal(s.families.panic.components?.guilty, p.pileMismatch.factor);
  assert.match(s.families.panic.differed.join(';'), /piled up behind the stuck CPU on one side only: 0 \/ 4/);
  // Both piled: the same mechanism. The panic family alone does not read runqueues. A crash that is no
  // stuck CPU (the sysrq dump) with a pile beside it: the rule is about what queued behind a spinner.
  assert.equal(score(piled, piled, none, p).families.panic.components?.title, 1);
  assert.equal(score(soft, piled, none, p, ['panic']).families.panic.components?.title, 1);
  const sysrq = viewOf(fixtureSignature('sysrq'));
  assert.equal(sysrq.panic!.primitive, undefined);
  const sysrqPiled = { ...sysrq, runqueue: { ...sysrq.runqueue!, panicQueued: ['hog', 'hog', 'hog', 'hog'] } };
  assert.equal(score(sysrq, sysrqPiled, none, p).families.panic.components?.title, 1);
});
