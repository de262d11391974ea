// bt against ground truth: the kernel's own traces in console.log (with its
// "?" entries removed) for every task whose trace it printed, and crash's
// `foreach bt` for every other task, with each known difference documented.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtures, openFixture } from './fixtures.js';
import { consoleTraces, tracesAgree } from './console.js';
import { collectBt } from '../../src/commands/bt.js';
import { backtrace, frameFunctions, cpuRegisters } from '../../src/helpers/stack.js';
import { findTask } from '../../src/helpers/tasks.js';

/** crash's foreach bt: task address → function names (frames and [exception RIP: ...] lines). */
function parseCrashBt(text: string): Map<string, { pid: number; functions: string[] }> {
  const out = new Map<string, { pid: number; functions: string[] }>();
  let cur: { pid: number; functions: string[] } | null = null;
  for (const l of text.split('\n')) {
    let m = /^PID: (\d+)\s+TASK: ([0-9a-f]+)/.exec(l);
    if (m) {
      cur = { pid: Number(m[1]), functions: [] };
      out.set(m[2]!, cur);
      continue;
    }
    if (!cur) continue;
    if ((m = /^\s*#\d+ \[[0-9a-f]+\] (\S+) at/.exec(l))) cur.functions.push(m[1]!);
    else if ((m = /\[exception RIP: ([^+\]]+)/.exec(l))) cur.functions.push(m[1]!);
  }
  return out;
}

/**
 * Where crash's foreach bt and ours differ, and why. Each entry is
 * (dump, pid) → the reason; the test fails on any difference not listed and
 * on any listed one that no longer differs.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {
  // crash names the start of a loading module's init text _MODULE_INIT_START_<mod>; the kernel's own
  // oops trace says labcrash_init+0x6c/0x1000 [labcrash], as we do.
  'nullderef:125': 'module init symbol: crash _MODULE_INIT_START_labcrash, kernel and vaat labcrash_init',
  // crash inserts __cond_resched after the exception frame: a stale return address its stack scan picked
  // up; clear_user_rep_good's ORC entry returns straight to read_zero.
  'oom:124': 'crash shows a stale __cond_resched frame after [exception RIP: clear_user_rep_good]',
  // QEMU paused the panicking CPU inside the pvpanic notifier; crash starts at panic, we at the real RIP.
  'oom:127': 'QEMU dump: we start at the saved RIP (pvpanic_panic_notify), crash at panic; crash also shows the stale __cond_resched',
  'timer:124': 'QEMU dump: we start at the saved RIP (pvpanic_panic_notify), crash at panic',
  // A task forked just before the crash that never ran: its inactive frame returns to ret_from_fork;
  // crash prints no frame at all.
  'timer:125': 'new task that never ran: we show ret_from_fork, crash nothing',
};

for (const f of fixtures()) {
  test(`bt of ${f.name}: the kernel's own console traces (? entries removed) equal ours`, () => {
    const prog = openFixture(f.name);
    const traces = consoleTraces(f.console()).filter((t) => !/scheduling while atomic/.test(t.header));
    assert.ok(traces.length >= 1, 'at least one kernel trace in console.log');
    for (const t of traces) {
      const bt = backtrace(prog, findTask(prog, t.pid));
      const r = tracesAgree(t.functions, frameFunctions(bt));
      assert.ok(r.ok, `${f.name} pid ${t.pid} (${t.header}):\n  ${r.why}`);
    }
  });

  test(`bt -A of ${f.name} agrees with crash's foreach bt except the documented differences`, () => {
    const prog = openFixture(f.name);
    const crash = parseCrashBt(f.crash('foreach-bt'));
    const ours = collectBt(prog, { every: true });
    assert.equal(ours.traces.length, crash.size, 'one trace per task');
    const seen = new Set<string>();
    for (const t of ours.traces) {
      const key = `${f.name}:${t.pid}`;
      const c = crash.get(t.task);
      assert.ok(c, `crash has task ${t.task}`);
      const same = JSON.stringify(frameFunctions(t)) === JSON.stringify(c.functions);
      if (KNOWN_DIFFERENCES[key]) {
        assert.ok(!same, `${key} is documented as differing but now agrees: update KNOWN_DIFFERENCES`);
        seen.add(key);
      } else {
        assert.deepEqual(frameFunctions(t), c.functions, `${key} ${t.comm}`);
      }
    }
    for (const k of Object.keys(KNOWN_DIFFERENCES).filter((k) => k.startsWith(f.name + ':'))) assert.ok(seen.has(k), `${k} listed but not seen`);
  });
}

test('registers are tied to CPUs the right way: crash_notes on kdump, pid = cpu + 1 on QEMU dumps', () => {
  const kd = cpuRegisters(openFixture('hung'));
  assert.ok(kd.kdump);
  assert.deepEqual([...kd.cpus.values()].map((c) => c.source), ['crash_notes', 'crash_notes']);
  assert.deepEqual(kd.missing, []);
  const q = cpuRegisters(openFixture('timer'));
  assert.ok(!q.kdump);
  assert.deepEqual([...q.cpus.keys()].sort(), [0, 1]);
  assert.ok([...q.cpus.values()].every((c) => c.source === 'NT_PRSTATUS pid = cpu + 1'));
});

test('bt output: frames as function+off/size [module], exception and user register blocks like crash', async () => {
  const { renderBt } = await import('../../src/commands/bt.js');
  const text = renderBt(collectBt(openFixture('nullderef')));
  assert.match(text, /^PID: 125\s+TASK: [0-9a-f]{16}\s+CPU: 0\s+COMMAND: "modprobe"$/m);
  assert.match(text, /^ #0 \[[0-9a-f]{16}\] machine_kexec\+0x1bf\/0x[0-9a-f]+ at [0-9a-f]{16}$/m);
  assert.match(text, /^\s+\[exception RIP: lab_nullderef\+5 \[labcrash\]\]$/m);
  assert.match(text, /^ #\d \[[0-9a-f]{16}\] labcrash_init\+0x6c\/0x1000 \[labcrash\] at/m);
  assert.match(text, /^\s+ORIG_RAX: 0000000000000139  CS: 0033  SS: 002b$/m);
  const sl = renderBt(collectBt(openFixture('softlockup')));
  assert.match(sl, /^--- <IRQ stack> ---$/m);
});
