// The typed object API on a real dump (hung), checked against what crash
// printed for the same dump and against the kernel's own console.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, openFixture } from '../helpers/fixtures.js';
import { listForEachEntry, listCount, rbtreeForEachEntry } from '../../src/kernel/iter.js';
import { cpumaskCpus, cpuList } from '../../src/kernel/cpumask.js';
import { Problems } from '../../src/kernel/problems.js';
import { readLog } from '../../src/kernel/printk.js';

test('globals, members, pointers, strings: init_task and init_uts_ns', () => {
  const prog = openFixture('hung');
  const it = prog.object('init_task');
  assert.equal(it.member('comm').string(), 'swapper/0');
  assert.equal(it.member('pid').num(), 0);
  // ps.txt: swapper/0 is TASK ffffffff... at the address of init_task.
  assert.match(fixture('hung').crash('ps'), new RegExp(`\\s0\\s+0\\s+0\\s+${it.hex()}\\s+RU`));
  const uts = prog.object('init_uts_ns').member('name');
  assert.equal(uts.member('machine').string(), 'x86_64');
  assert.equal(it.member('real_parent').member('comm').string(), 'swapper/0', 'pointer member followed implicitly');
  assert.equal(it.member('tasks.next').deref().address, it.member('tasks.next').value());
  assert.ok(it.has('__state'), '6.1 has task_struct.__state');
  assert.ok(!it.has('state'), '... and no longer task_struct.state');
});

test('list_for_each_entry and container_of over init_task.tasks reach the hung-task actors', () => {
  const prog = openFixture('hung');
  const problems = new Problems();
  const comms = [...listForEachEntry(prog.object('init_task').member('tasks'), 'struct task_struct', 'tasks', { problems })].map((t) => `${t.member('pid').num()}:${t.member('comm').string()}`);
  assert.equal(problems.length, 0);
  for (const want of ['1:sh', '2:kthreadd', '28:khungtaskd', '126:labcrash-holder', '127:labcrash-waiter', '128:labcrash-waiter']) assert.ok(comms.includes(want), want);
  const first = prog.object('init_task').member('tasks').member('next').deref().containerOf('struct task_struct', 'tasks');
  assert.equal(first.member('pid').num(), 1);
});

test('per-CPU variables and cpumasks: runqueues, __cpu_online_mask', () => {
  const prog = openFixture('hung');
  assert.equal(prog.nrCpuIds, 2);
  // crash runq: CPU 0 RUNQUEUE: ffff8cd156431c40, CPU 1 RUNQUEUE: ffff8cd156531c40.
  const runq = fixture('hung').crash('runq');
  for (const cpu of [0, 1]) {
    const rq = prog.perCpu('runqueues', cpu);
    assert.match(runq, new RegExp(`CPU ${cpu} RUNQUEUE: ${rq.hex()}`));
    assert.equal(rq.member('cpu').num(), cpu);
  }
  assert.equal(prog.perCpu('runqueues', 1).member('curr').member('comm').string(), 'khungtaskd');
  assert.deepEqual(cpumaskCpus(prog.object('__cpu_online_mask'), prog.nrCpuIds), [0, 1]);
  assert.equal(cpuList([0, 1, 2, 3, 6, 8, 9]), '0-3,6,8-9');
});

test('rbtree walk: the timer queue of CPU 0 is in expiry order', () => {
  const prog = openFixture('hung');
  const base = prog.perCpu('hrtimer_bases', 0).member('clock_base').index(0);
  const timers = [...rbtreeForEachEntry(base.member('active').member('rb_root').member('rb_root'), 'struct hrtimer', 'node.node')];
  assert.ok(timers.length > 0);
  const expires = timers.map((t) => t.member('node').member('expires').value());
  for (let i = 1; i < expires.length; i++) assert.ok(expires[i]! >= expires[i - 1]!, 'in order');
});

test('bitfields, enums and signed values from BTF', () => {
  const prog = openFixture('hung');
  const t = prog.object('init_task');
  assert.equal(typeof t.member('sched_reset_on_fork').num(), 'number');
  assert.ok(t.member('sched_reset_on_fork').num() <= 1, '1-bit field');
  assert.equal(t.member('prio').num(), 120, 'swapper runs at prio 120');
  assert.equal(prog.object('panic_cpu').member('counter').num(), 1, 'hung panicked on CPU 1');
  const ts = prog.object('system_state');
  assert.equal(ts.enumName(), 'SYSTEM_RUNNING');
});

test('a torn list is walked to where it breaks, with the problem recorded, not thrown', () => {
  const prog = openFixture('hung');
  // A list_head whose next points into unmapped memory.
  const bogus = prog.objectAt('struct list_head', prog.symbol('init_task') + BigInt(prog.offsetOf('struct task_struct', 'comm')));
  const problems = new Problems();
  const n = listCount(bogus, { problems, limit: 100 });
  assert.equal(n, 0);
  assert.equal(problems.length, 1);
  assert.match(problems.list[0]!.reason, /not mapped|excluded|not in the dump|non-canonical/);
});

test('printk records carry levels, caller ids and timestamps', () => {
  const prog = openFixture('hung');
  const { records, format } = readLog(prog);
  assert.equal(format, 'lockless');
  const panic = records.find((r) => r.text.startsWith('Kernel panic - not syncing'))!;
  assert.equal(panic.level, 0, 'KERN_EMERG');
  assert.equal(panic.caller, 'T28', 'printed by khungtaskd (pid 28)');
  assert.equal(panic.tsNsec, 17852194000n + BigInt(Number(panic.tsNsec % 1000n)));
  const info = records.find((r) => r.text.startsWith('INFO: task labcrash-waiter:127'))!;
  assert.equal(info.level, 3, 'KERN_ERR');
});
