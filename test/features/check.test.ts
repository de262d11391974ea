// The debugging check that fired (features/panic.ts check, features/data/oops.json checks): what
// lib/list_debug.c prints just before its BUG says which list invariant broke. The reference is the
// kernel's own text: two reports copied from the lab (Debian 6.1.0-56, a list entry freed while
// still linked, and a list_add on an overwritten head), the check line's words without its addresses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signatureFromConsole } from '../../features/signature.js';

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
