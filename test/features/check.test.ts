// The debugging check that fired (features/panic.ts check, features/data/oops.json checks): what
// lib/list_debug.c prints just before its BUG says which list invariant broke. The reference is the
// kernel's own text: two reports copied from the lab (Debian 6.1.0-56, a list entry freed while
// still linked, and a list_add on an overwritten head), the check line's words without its addresses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signatureFromConsole } from '../../features/signature.js';
import { assertionSite } from '../../features/panic.js';
import { viewOf } from '../../src/similarity/view.js';
import { comparePanic } from '../../src/similarity/compare/panic.js';
import { defaultParams } from '../../src/similarity/scorer.js';
import type { CompareContext } from '../../src/similarity/compare/types.js';

const report = (check: string, line: number) => `[   11.984612] labcrash: loading out-of-tree module taints kernel.
[   13.204191] ${check}
[   13.205072] ------------[ cut here ]------------
[   13.205302] kernel BUG at lib/list_debug.c:${line}!
[   13.206288] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
[   13.207603] CPU: 0 PID: 228 Comm: insmod Kdump: loaded Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2
[   13.207603] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
[   13.207603] RIP: 0010:__list_add_valid.cold+0x3a/0x5b
[   13.207603] RSP: 0018:ffffd06700683c18 EFLAGS: 00000246
[   13.207603] Call Trace:
[   13.207603]  <TASK>
[   13.207603]  list_add_tail.constprop.0+0x1b/0x3c [labcrash]
[   13.207603]  labcrash_init+0x3a2/0x1000 [labcrash]
[   13.207603]  ? 0xffffffffc05f1000
[   13.207603]  do_one_initcall+0x59/0x220
[   13.207603]  do_init_module+0x4a/0x1f0
[   13.207603]  __do_sys_finit_module+0xac/0x120
[   13.207603]  do_syscall_64+0x55/0xb0
[   13.207603]  entry_SYSCALL_64_after_hwframe+0x6e/0xd8
[   13.207603]  </TASK>
`;

test('the list_debug check that fired is kept without its addresses; the title stays syzkaller\'s', () => {
  const prevNext = signatureFromConsole(report('list_add corruption. prev->next should be next (ffffffffc05ec120), but was 0000000000000000. (prev=ffff8bb8e7b9ce40).', 30), 'uaf.log').panic!;
  const nextPrev = signatureFromConsole(report('list_add corruption. next->prev should be prev (ffff8d26d16f70c0), but was 0000000000000000. (next=ffff8d26d16f7640).', 27), 'listcorrupt.log').panic!;
  assert.equal(prevNext.title, 'BUG: corrupted list in labcrash_init');
  assert.equal(nextPrev.title, prevNext.title);
  assert.equal(prevNext.check, 'list_add corruption. prev->next should be next');
  assert.equal(nextPrev.check, 'list_add corruption. next->prev should be prev');
  // list_del's own words name the pointer by address: the address goes, the invariant stays.
  const del = signatureFromConsole(report('list_del corruption, ffff8880123c0000->next is LIST_POISON1 (dead000000000100)', 51), 'del.log').panic!;
  assert.equal(del.check, 'list_del corruption, ADDR->next is LIST_POISON1');
});

test('no check line before the report (a plain BUG()): no check', () => {
  const plain = signatureFromConsole(report('labcrash: scenario=bug', 30), 'bug.log').panic!;
  assert.equal(plain.check, null);
});

// Scorer version 12 (view version 5): a BUG() names where it fired, and that site is the check when
// no check line came before. The reports' first lines are the kernel's own, copied from the lab
// (Debian 6.1.0-56): SLUB's naive double-free check in mm/slub.c, and an out-of-tree module's own
// BUG_ON, printed with the module's build path.
const bugAt = (at: string, rip: string) => `[    8.266180] labcrash: scenario=x
[    8.351546] ------------[ cut here ]------------
[    8.351759] kernel BUG at ${at}!
[    8.352681] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
[    8.353054] CPU: 1 PID: 179 Comm: insmod Kdump: loaded Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2
[    8.353865] RIP: 0010:${rip}
[    8.355358] RSP: 0018:ffffd3880045bc98 EFLAGS: 00000246
[    8.355381] Call Trace:
[    8.355381]  <TASK>
[    8.355381]  rx_refill+0x14/0x30 [labcrash]
[    8.355381]  labcrash_init+0x3a2/0x1000 [labcrash]
[    8.355381]  do_one_initcall+0x59/0x220
[    8.355381]  do_init_module+0x4a/0x1f0
[    8.355381]  </TASK>
`;

test('a BUG() without a check line: its site, the file without directory or line, is the scoring view\'s check (view version 5)', () => {
  const slub = signatureFromConsole(bugAt('mm/slub.c:419', '__kmem_cache_free+0x284/0x2a0'), 'doublefree.log').panic!;
  const own = signatureFromConsole(bugAt('/work/labset4/.lab/build/labcrash-6.1.0-56-amd64-14ba50af5290/labcrash.c:313', 'lab_bug+0x5/0x7 [labcrash]'), 'bug.log').panic!;
  assert.equal(slub.check, null, 'the signature\'s check is the line before the report: there is none');
  assert.equal(assertionSite(slub.oops), 'kernel BUG at slub.c');
  assert.equal(assertionSite(own.oops), 'kernel BUG at labcrash.c', 'the build path goes');
  assert.equal(assertionSite('BUG: kernel NULL pointer dereference, address: 0000000000000000'), null);
  const view = (p: typeof slub) => viewOf({ ...signatureFromConsole(bugAt('mm/slub.c:419', 'x+0x1/0x2'), 'x.log'), panic: p }).panic!;
  assert.equal(view(slub).check, 'kernel BUG at slub.c');
  // A check line, when there is one, stays the check: list_debug's BUG is at lib/list_debug.c either way.
  const list = signatureFromConsole(report('list_add corruption. next->prev should be prev (ffff8d26d16f70c0), but was 0000000000000000. (next=ffff8d26d16f7640).', 27), 'listcorrupt.log').panic!;
  assert.equal(view(list).check, 'list_add corruption. next->prev should be prev');
  // Between two dumps, BUG()s at different sites: the names agree at checkMismatch (as two different checks).
  const ctx: CompareContext = { frames: { n: 0, df: () => 0 }, params: defaultParams(), machine: true };
  const s = comparePanic(view(slub), { ...view(slub), check: view(own).check! }, ctx);
  assert.equal(s.components?.title, ctx.params.checkMismatch);
  assert.match(s.differed.join(';'), /different checks fired: "kernel BUG at slub\.c" \/ "kernel BUG at labcrash\.c"/);
});
