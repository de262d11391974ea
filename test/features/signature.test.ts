// Signatures of the seven real dumps: the panic part equals the one read
// from the scenario's own console.log; the machine-state families agree
// with crash (sys -t, bt, runq) and with what the scenario did; documents
// validate against the schema; the same dump gives the same bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Program } from '../../src/kernel/program.js';
import { fixture, fixtures, openFixture } from '../helpers/fixtures.js';
import { signatureFromDump, signatureFromConsole, validateSignature, signatureValidator, InvalidSignatureError, type Signature } from '../../features/signature.js';
import { vectorize, vectorDimension, familyRanges } from '../../features/vector.js';

const cache = new Map<string, Signature>();
function sig(name: string): Signature {
  let s = cache.get(name);
  if (!s) {
    const f = fixture(name);
    s = signatureFromDump(openFixture(name), f.dumpPath);
    cache.set(name, s);
  }
  return s;
}

/** crash's runq: per CPU the current task's comm and the queued comms. */
function crashRunq(text: string): Map<number, { curr: string; queued: string[] }> {
  const m = new Map<number, { curr: string; queued: string[] }>();
  let cpu = -1;
  for (const line of text.split('\n')) {
    const c = /^CPU (\d+) RUNQUEUE/.exec(line);
    if (c) {
      cpu = Number(c[1]);
      m.set(cpu, { curr: '', queued: [] });
      continue;
    }
    const cur = /CURRENT: PID: \d+\s+TASK: \S+\s+COMMAND: "(.*)"/.exec(line);
    if (cur) m.get(cpu)!.curr = cur[1]!;
    const q = /^\s+\[\s*\d+\] PID: \d+\s+TASK: \S+\s+COMMAND: "(.*)"/.exec(line);
    if (q) m.get(cpu)!.queued.push(q[1]!);
  }
  return m;
}

const norm = (c: string) => c.replace(/\d+/g, 'N');

for (const f of fixtures()) {
  test(`${f.name}: the panic part from the dump equals the one from console.log`, () => {
    const fromDump = sig(f.name).panic;
    const fromConsole = signatureFromConsole(f.console(), 'console.log').panic;
    assert.ok(fromDump?.title, 'the dump\'s log holds the crash report');
    assert.deepEqual(fromDump, fromConsole);
  });

  test(`${f.name}: signature validates, is byte-identical on a second read, and agrees with crash`, () => {
    const s = sig(f.name);
    validateSignature(s);
    // A second, independent read of the same file.
    const p2 = Program.open(f.dumpPath);
    const again = signatureFromDump(p2, f.dumpPath);
    p2.close();
    assert.equal(JSON.stringify(again), JSON.stringify(s));
    // Vector: fixed dimension, finite, deterministic.
    const v1 = vectorize(s);
    const v2 = vectorize(again);
    assert.equal(v1.length, vectorDimension());
    assert.ok(v1.every(Number.isFinite));
    assert.deepEqual(Array.from(v1), Array.from(v2));
    // Who panicked: crash's bt header for the panic task.
    const bt = /^PID: (\d+)\s+TASK: \S+\s+CPU: (\d+)\s+COMMAND: "(.*)"/m.exec(f.crash('bt'))!;
    assert.equal(s.panic?.pid, Number(bt[1]));
    assert.equal(s.panic?.cpu, Number(bt[2]));
    assert.equal(s.panic?.comm, bt[3]);
    assert.equal(s.cpu?.panicCpu, Number(bt[2]));
    // Taint letters: crash's sys -t.
    const t = /TAINTED_MASK: ([0-9a-f]+)\s*(\S*)/.exec(f.crash('sys-t'))!;
    assert.equal(s.taint?.mask, '0x' + t[1]);
    assert.equal(s.taint?.letters, t[2]);
    // Runqueues: crash's runq, CPU by CPU.
    const rq = crashRunq(f.crash('runq'));
    assert.deepEqual(s.runqueue?.cpus, [...rq.keys()]);
    for (const [cpu, r] of rq) {
      const i = s.runqueue!.cpus.indexOf(cpu);
      const listed = r.queued.length + (r.curr.startsWith('swapper') ? 0 : 1);
      assert.ok(s.runqueue!.nrRunning[i]! >= listed, `CPU ${cpu}: nr_running ${s.runqueue!.nrRunning[i]} < ${listed} tasks crash lists`);
      assert.equal(s.runqueue!.nrRunning[i] === 0, listed === 0);
      const busy: { cpu: number; comm: string } | undefined = s.cpu!.busy.find((b) => b.cpu === cpu);
      assert.equal(busy?.comm ?? null, r.curr.startsWith('swapper') ? null : norm(r.curr));
    }
    const pq = s.runqueue!.panicCpu!;
    assert.deepEqual(pq.queued, rq.get(pq.cpu)!.queued.map(norm).sort());
    assert.equal(pq.curr, norm(rq.get(pq.cpu)!.curr));
  });
}

/** crash's foreach bt: the function names of one pid's frames, innermost first. */
function crashFramesOf(text: string, pid: number): string[] {
  const out: string[] = [];
  let mine = false;
  for (const l of text.split('\n')) {
    const p = /^PID: (\d+)\s+TASK:/.exec(l);
    if (p) mine = Number(p[1]) === pid;
    const m = mine ? /^\s*#\d+ \[[0-9a-f]+\] (\S+) at/.exec(l) : null;
    if (m) out.push(m[1]!);
  }
  return out;
}

test('hung: the lock part names lab_mutex, its holder labcrash-holder and 2 waiters', () => {
  const con = fixture('hung').console();
  const holderPid = Number(/labcrash: holder (\d+) took lab_mutex/.exec(con)![1]);
  const l = sig('hung').locks!;
  assert.equal(l.blocked, 2);
  assert.deepEqual(l.waitKinds, { mutex: 2 });
  assert.equal(l.locks.length, 1);
  const lk = l.locks[0]!;
  assert.equal(lk.name, 'lab_mutex');
  assert.equal(lk.module, 'labcrash');
  assert.equal(lk.kind, 'mutex');
  assert.equal(lk.waiters, 2);
  assert.deepEqual(lk.waiterComms, ['labcrash-waiter']);
  assert.equal(lk.holder?.comm, 'labcrash-holder');
  assert.equal(lk.holder?.pid, holderPid);
  // The holder sleeps in the module's own function (an msleep loop): the scheduler's frames are left
  // out, the primitive lab_holder called is kept — crash's bt of the holder names it, just above lab_holder.
  const block = crashFramesOf(fixture('hung').crash('foreach-bt'), holderPid);
  const own = block.indexOf('lab_holder');
  assert.ok(own > 0, 'crash shows lab_holder under scheduling frames');
  assert.deepEqual(lk.holder?.frames.slice(0, 2), [block[own - 1], 'lab_holder [labcrash]']);
  assert.match(block[own - 1]!, /^schedule_timeout/);
  assert.equal(l.deadlock, false);
  assert.deepEqual(sig('hung').taint?.lockHolder, ['labcrash']);
});

test('taint: O and E and the module labcrash wherever it was loaded, nothing where it was not', () => {
  for (const f of fixtures()) {
    const loaded = /labcrash/.test(f.crash('mod'));
    const t = sig(f.name).taint!;
    if (loaded) {
      assert.match(t.letters, /O/, f.name);
      assert.match(t.letters, /E/, f.name);
      assert.deepEqual(t.outOfTree, ['labcrash'], f.name);
      assert.deepEqual(t.unsigned, ['labcrash'], f.name);
      assert.deepEqual(t.modules.map((m) => m.name), ['labcrash'], f.name);
    } else {
      assert.deepEqual(t.modules, [], f.name);
      assert.equal(t.letters, '', f.name);
    }
  }
  assert.deepEqual(sig('nullderef').taint?.inPanicStack, ['labcrash']);
  assert.deepEqual(sig('sysrq').taint?.inPanicStack, []);
});

test('panic parts name the crash the scenario made', () => {
  const want: Record<string, [string, string, string | null]> = {
    hung: ['hung-task', 'INFO: task hung in lab_waiter', 'lab_waiter'],
    nullderef: ['null-deref', 'BUG: unable to handle kernel NULL pointer dereference in lab_nullderef', 'lab_nullderef'],
    oom: ['oom', 'kernel panic: Out of memory', 'out_of_memory'],
    softlockup: ['soft-lockup', 'BUG: soft lockup in lab_spinner', 'lab_spinner'],
    sysrq: ['sysrq', 'kernel panic: sysrq triggered crash', 'sysrq_handle_crash'],
    timer: ['null-deref', 'BUG: unable to handle kernel NULL pointer dereference in lab_timer_fn', 'lab_timer_fn'],
  };
  for (const [name, [kind, title, guilty]] of Object.entries(want)) {
    const p = sig(name).panic!;
    assert.equal(p.kind, kind, name);
    assert.equal(p.title, title, name);
    assert.equal(p.guilty, guilty, name);
    assert.equal(p.corrupted, false, name);
  }
  // The timer oops happened in hard IRQ: the frames keep the boundary.
  assert.deepEqual(sig('timer').panic!.frames.slice(0, 3), ['lab_timer_fn [labcrash]', '<IRQ>', '__hrtimer_run_queues']);
  // spinlockup: the leaked spinlock first shows as "scheduling while atomic", the soft lockup follows.
  assert.deepEqual(sig('spinlockup').panic!.followups, ['BUG: soft lockup in lab_spinner', 'kernel panic: softlockup: hung tasks']);
  // The soft lockup's runqueue: the spinner has run for over 10 s.
  const lr = sig('softlockup').runqueue!.longestRunning!;
  assert.equal(lr.comm, 'labcrash-spin');
  assert.ok(lr.seconds > 10, `${lr.seconds}`);
});

test('QEMU dumps taken after panic stopped the other CPU: one CPU online', () => {
  for (const name of ['oom', 'timer']) {
    const c = sig(name).cpu!;
    assert.equal(c.onlineCount, 1, name);
    assert.equal(c.possible, '0-1', name);
  }
});

test('console-only signatures: machine-state families are null; a broken document is refused', () => {
  const s = signatureFromConsole(fixture('hung').console(), 'console.log');
  for (const k of ['locks', 'runqueue', 'cgroup', 'taint', 'cpu'] as const) assert.equal(s[k], null);
  const v = vectorize(s);
  for (const r of familyRanges()) {
    const block = v.slice(r.start, r.end);
    if (r.family === 'panic') assert.ok(block.some((x) => x !== 0));
    else assert.ok(block.every((x) => x === 0), r.family);
  }
  assert.throws(() => validateSignature({ ...s, panic: {} }), InvalidSignatureError);
  assert.throws(() => validateSignature({ ...s, extra: 1 }), InvalidSignatureError);
});

test('the build-time validator is ajv\'s code for the schema as it is, and judges as a freshly compiled one does', () => {
  const pre = signatureValidator();
  const fresh = signatureValidator({ precompiled: false });
  assert.equal(pre.precompiled, true, 'dist/features/schema/signature.validate.cjs missing or made from another schema: npm run build');
  assert.equal(fresh.precompiled, false);
  const good = sig('hung');
  const con = signatureFromConsole(fixture('hung').console(), 'console.log');
  const bad: unknown[] = [{ ...good, panic: {} }, { ...good, extra: 1 }, { ...good, version: 'x' }, { ...con, locks: {} }, null, {}];
  for (const d of [good, con, ...bad]) {
    const a = pre.validate(d);
    const b = fresh.validate(d);
    assert.equal(a, b);
    assert.deepEqual(pre.validate.errors?.map((e) => `${e.instancePath} ${e.message}`), fresh.validate.errors?.map((e) => `${e.instancePath} ${e.message}`));
  }
  assert.equal(pre.validate(good), true);
  assert.equal(pre.validate({ ...good, extra: 1 }), false);
});

test('no report in the log: the panic part from the registers equals the log\'s frames from panic() (or the oops) on', async () => {
  const { panicFromStack } = await import('../../features/panic.js');
  for (const f of fixtures()) {
    const fromLog = sig(f.name).panic!.frames;
    const fromRegs = panicFromStack(openFixture(f.name))!;
    assert.equal(fromRegs.title, null);
    assert.equal(fromRegs.corrupted, true);
    assert.equal(fromRegs.pid, sig(f.name).panic!.pid, f.name);
    // The kernel prints its panic trace from dump_stack_lvl; an oops trace starts at the faulting frame.
    const start = fromLog.indexOf('panic') >= 0 ? fromLog.indexOf('panic') : 0;
    const want = fromLog.slice(start);
    if (f.name === 'spinlockup' || f.name === 'hung' || f.name === 'softlockup') {
      // The log's first report is another task's (a waiter, the spinner's own report, modprobe's
      // scheduling-while-atomic); the panic task's stack is khungtaskd's / the watchdog's.
      assert.equal(fromRegs.frames.filter((x) => !x.startsWith('<'))[0], 'panic', f.name);
      continue;
    }
    assert.deepEqual(fromRegs.frames.slice(0, want.length), want, f.name);
  }
  assert.deepEqual(panicFromStack(openFixture('hung'))!.frames, ['panic', 'watchdog', 'kthread', 'ret_from_fork']);
});
