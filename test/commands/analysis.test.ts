// The analysis commands on the real dumps: lockinfo, mod and taint,
// cgroupinfo, cpuinfo, tasktable — checked against crash's output and the
// kernel's own console where those say the same thing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, fixtures, openFixture } from '../helpers/fixtures.js';
import { collectLockinfo } from '../../src/commands/lockinfo.js';
import { collectMod } from '../../src/commands/mod.js';
import { collectSys } from '../../src/commands/sys.js';
import { collectCgroupinfo } from '../../src/commands/cgroupinfo.js';
import { collectCpuinfo } from '../../src/commands/cpuinfo.js';
import { collectTasktable } from '../../src/commands/tasktable.js';
import { collectPs } from '../../src/commands/ps.js';

test('lockinfo --blocked on the hung dump: both waiters wait on lab_mutex, held by labcrash-holder (pid from the console)', () => {
  const f = fixture('hung');
  const con = f.console();
  const holderPid = Number(/labcrash: holder (\d+) took lab_mutex/.exec(con)![1]);
  const waiterPids = [...con.matchAll(/labcrash: waiter (\d+) blocking on lab_mutex/g)].map((m) => Number(m[1])).sort();
  assert.equal(waiterPids.length, 2);
  const d = collectLockinfo(openFixture('hung'), { blocked: true });
  assert.equal(d.mode, 'blocked');
  if (d.mode !== 'blocked') return;
  assert.deepEqual(d.report.blocked.map((b) => b.task.pid).sort(), waiterPids);
  for (const b of d.report.blocked) {
    assert.equal(b.waitKind, 'mutex');
    assert.equal(b.lock?.name, 'lab_mutex [labcrash]');
    assert.equal(b.holder?.pid, holderPid);
    assert.equal(b.holder?.comm, 'labcrash-holder');
  }
  assert.equal(d.report.deadlocks.length, 0);
  assert.equal(d.report.chains[0]!.links.map((l) => l.pid).join('>'), `${waiterPids[0]}>${holderPid}`);
});

test('lockinfo lab_mutex: a module symbol, its holder and waiters in queue order', () => {
  const d = collectLockinfo(openFixture('hung'), { lock: 'lab_mutex' });
  assert.equal(d.mode, 'lock');
  if (d.mode !== 'lock') return;
  assert.equal(d.lock.kind, 'mutex');
  assert.equal(d.lock.state, 'locked (waiters)');
  assert.equal(d.lock.holder?.comm, 'labcrash-holder');
  assert.ok(d.lock.holderStack?.includes('lab_holder'));
  assert.deepEqual(d.lock.waiters.map((w) => w.pid), [127, 128]);
  assert.ok(d.lock.waiters.every((w) => w.state === 'UN' && (w.offCpuS ?? 0) > 10));
});

for (const f of fixtures()) {
  test(`lockinfo cgroup_mutex works on ${f.name} (unlocked: it says so)`, () => {
    const d = collectLockinfo(openFixture(f.name), { lock: 'cgroup_mutex' });
    assert.equal(d.mode, 'lock');
    if (d.mode !== 'lock') return;
    assert.equal(d.lock.kind, 'mutex');
    assert.equal(d.lock.name, 'cgroup_mutex');
    assert.equal(d.lock.state, 'unlocked');
    assert.equal(d.lock.holder, null);
    assert.equal(d.lock.waiters.length, 0);
  });

  test(`mod of ${f.name}: the modules and addresses crash's mod shows; taint letters as the console printed them`, () => {
    const prog = openFixture(f.name);
    const ours = collectMod(prog).modules.map((m) => `${m.module} ${m.name} ${m.base} ${m.size}`);
    const theirs = f.crash('mod').trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 4).join(' '));
    assert.deepEqual(ours, theirs);
    // Tainted: G           OE — the flags the kernel printed last before the crash.
    const tainted = [...f.console().matchAll(/Tainted: ([A-Z ]+?)\s{2,}\d/g)].map((m) => m[1]!.replace(/[G ]/g, ''));
    const sys = collectSys(prog, { taint: true });
    const lastConsole = tainted.length ? tainted[tainted.length - 1] : '';
    // The console line comes from before the last taint the crash itself may add (D on oops, L on lockup);
    // every letter it showed must be in tainted_mask.
    for (const ch of lastConsole!) assert.ok(sys.taint!.letters.includes(ch), `${ch} in ${sys.taint!.letters}`);
    assert.equal(sys.taint!.letters, f.crash('sys-t').trim().split(/\s+/)[2] ?? '', "sys -t letters equal crash's");
    const labcrash = collectMod(prog).modules.find((m) => m.name === 'labcrash');
    if (labcrash) assert.equal(labcrash.taints, 'OE');
  });

  test(`cgroupinfo of ${f.name}: every hierarchy's task counts sum to the task total`, () => {
    const prog = openFixture(f.name);
    const total = collectPs(prog).rows.length;
    const d = collectCgroupinfo(prog);
    assert.ok(d.hierarchies.length >= 1);
    for (const h of d.hierarchies) {
      assert.equal(h.nodes[0]!.path, '/');
      assert.equal(h.totalTasks, total, `hierarchy ${h.id}`);
    }
  });

  test(`cpuinfo of ${f.name}: CPU counts as crash's sys, the panic CPU as the console's panic line`, () => {
    const prog = openFixture(f.name);
    const d = collectCpuinfo(prog);
    const s = d.summary!;
    const sys = f.crash('sys');
    const offline = /OFFLINE: (\d+)/.exec(sys);
    assert.equal(s.cpus.filter((c) => !c.online).length, offline ? Number(offline[1]) : 0);
    const panicLine = /Kernel panic - not syncing[^\n]*\n[^\n]*CPU: (\d+) PID: (\d+)/.exec(f.console()) ?? /\] CPU: (\d+) PID: (\d+) Comm: \S+ Kdump/.exec(f.console());
    if (panicLine) assert.equal(s.panicCpu, Number(panicLine[1]));
    assert.equal(d.tlb!.length, s.cpus.length);
    for (const t of d.tlb!) assert.ok(t.mmTlbGen === null || t.cpuTlbGen <= t.mmTlbGen);
  });
}

test('cgroupinfo: the lab workload cgroup holds the two sleeps and the busy shell', () => {
  const prog = openFixture('hung');
  const ps = collectPs(prog).rows;
  const want = ps.filter((r) => (r.comm === 'sleep' || (r.comm === 'sh' && r.pid !== 1))).map((r) => r.pid).sort((a, b) => a - b);
  const node = collectCgroupinfo(prog).hierarchies[0]!.nodes.find((n) => n.path === '/lab-workload');
  assert.ok(node);
  assert.deepEqual(node.pids, want);
  assert.equal(node.running, 1);
});

test('tasktable flags what stands out: the hung waiters in D, the soft-lockup spinner running without a switch', () => {
  const hung = collectTasktable(openFixture('hung'), { outliersOnly: true });
  for (const pid of [127, 128]) assert.ok(hung.rows.find((r) => r.pid === pid)?.flags.some((x) => x.startsWith('D for')), `pid ${pid}`);
  const sl = collectTasktable(openFixture('softlockup'), { sort: '-RUNNING', limit: 1 });
  assert.equal(sl.rows[0]!.comm, 'labcrash-spin');
  assert.ok(sl.rows[0]!.runningS! > 10);
  assert.ok(sl.rows[0]!.flags.some((x) => x.startsWith('running')));
  const dd = collectTasktable(openFixture('oom'), { filter: ['COMM=dd', 'ST=RU'] });
  assert.equal(dd.rows.length, 6);
});
