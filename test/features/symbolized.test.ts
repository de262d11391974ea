// Symbolized traces are read as the raw traces the kernel printed: on every
// syzbot report, the signature of the report as mailed (symbolized) and of
// the same report with the symbolization stripped (test/helpers/syzbot.ts,
// an independent stripper) are equal in every field of the panic part but
// the source locations. Plus the two symbolizer formats line by line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syzbotReports, stripSymbolization } from '../helpers/syzbot.js';
import { signatureFromConsole } from '../../features/signature.js';
import { splitConsole } from '../../features/console.js';

test('syzbot reports: symbolized and stripped give the same panic part but for the source locations', () => {
  const reports = syzbotReports();
  let equal = 0;
  let withSources = 0;
  const differ: string[] = [];
  for (const r of reports) {
    const a = signatureFromConsole(r.report, r.id).panic!;
    const b = signatureFromConsole(stripSymbolization(r.report), r.id).panic!;
    const { sources: sa, ...ra } = a;
    const { sources: sb, ...rb } = b;
    if (sa) withSources++;
    assert.equal(sb, null, `${r.id}: a stripped report has no source locations`);
    if (JSON.stringify(ra) === JSON.stringify(rb)) equal++;
    else differ.push(r.id);
    if (sa) assert.equal(sa.length, a.frames.length, `${r.id}: one source entry per frame`);
  }
  console.log(`${equal}/${reports.length} equal; ${withSources} carry source locations; differ: ${differ.join(' ')}`);
  assert.equal(equal, reports.length, `${reports.length - equal} differ`);
  assert.ok(withSources > reports.length * 0.9, 'most syzbot reports are symbolized');
});

test('syzbot format: inline lines become the next frame\'s inlined functions, locations move to src', () => {
  const text = [
    'BUG: KASAN: slab-use-after-free in l2cap_conn_ready net/bluetooth/l2cap_core.c:1619 [inline]',
    'BUG: KASAN: slab-use-after-free in l2cap_connect_cfm+0xdbe/0xf80 net/bluetooth/l2cap_core.c:7278',
    'Call Trace:',
    ' <TASK>',
    ' __dump_stack lib/dump_stack.c:94 [inline]',
    ' dump_stack_lvl+0x116/0x1f0 lib/dump_stack.c:120',
    ' bdev_release+0x536/0x650 block/bdev.c:-1',
  ].join('\n');
  const lines = splitConsole(text);
  assert.deepEqual(lines.map((l) => l.text), [
    'BUG: KASAN: slab-use-after-free in l2cap_connect_cfm+0xdbe/0xf80',
    'Call Trace:',
    ' <TASK>',
    ' dump_stack_lvl+0x116/0x1f0',
    ' bdev_release+0x536/0x650',
  ]);
  assert.deepEqual(lines[0]!.src, { file: 'net/bluetooth/l2cap_core.c', line: 7278, inline: [{ function: 'l2cap_conn_ready', file: 'net/bluetooth/l2cap_core.c', line: 1619 }] });
  assert.deepEqual(lines[3]!.src, { file: 'lib/dump_stack.c', line: 120, inline: [{ function: '__dump_stack', file: 'lib/dump_stack.c', line: 94 }] });
  assert.deepEqual(lines[4]!.src, { file: 'block/bdev.c', line: null, inline: [] }, 'line -1: unknown');
});

test('a symbolized "%pS" inside a message: the inline copies of the message go, the message reads as printed', () => {
  // S03394 of the syzbot corpus, shortened: the kernel printed only the last line (raw form below).
  const sym = [
    'Kernel panic - not syncing: kasan_populate_pmd arch/x86/mm/kasan_init_64.c:67 [inline]: Failed to allocate page, nid=0 from=1000000',
    'Kernel panic - not syncing: kasan_populate_pud arch/x86/mm/kasan_init_64.c:99 [inline]: Failed to allocate page, nid=0 from=1000000',
    'Kernel panic - not syncing: kasan_populate_shadow+0x57f/0x71f arch/x86/mm/kasan_init_64.c:153: Failed to allocate page, nid=0 from=1000000',
  ];
  const raw = 'Kernel panic - not syncing: kasan_populate_shadow+0x57f/0x71f: Failed to allocate page, nid=0 from=1000000';
  const lines = splitConsole(sym.join('\n'));
  assert.deepEqual(lines.map((l) => l.text), [raw]);
  assert.deepEqual(lines[0]!.src!.inline.map((f) => f.function), ['kasan_populate_pmd', 'kasan_populate_pud']);
  assert.equal(signatureFromConsole(sym.join('\n'), 's').panic!.title, 'kernel panic: kasan_populate_shadow: Failed to allocate page, nid=NUM from=ADDR');
  assert.equal(signatureFromConsole(raw, 'r').panic!.title, 'kernel panic: kasan_populate_shadow: Failed to allocate page, nid=NUM from=ADDR');
  // An "[inline]:" line whose message the next line does not repeat is text, not a symbolizer's copy.
  assert.equal(splitConsole('note: f a.c:1 [inline]: one\nsomething else: two').length, 2);
});

test('decode_stacktrace.sh format: "func (file:line inlined...)" reads as the raw frame', () => {
  const text = [
    'RIP: 0010:lab_nullderef (drivers/misc/labcrash.c:42) labcrash',
    'Call Trace:',
    ' <TASK>',
    ' dump_stack_lvl (lib/dump_stack.c:88 lib/dump_stack.c:106)',
    ' ? lab_other (drivers/misc/labcrash.c:50) [labcrash]',
    ' do_one_initcall (init/main.c:1298) [labcrash]',
  ].join('\n');
  const lines = splitConsole(text);
  assert.equal(lines[3]!.text, ' dump_stack_lvl+0x0/0x0');
  assert.deepEqual(lines[3]!.src, { file: 'lib/dump_stack.c', line: 106, inline: [{ function: null, file: 'lib/dump_stack.c', line: 88 }] });
  assert.equal(lines[4]!.text, ' ? lab_other+0x0/0x0 [labcrash]');
  const sig = signatureFromConsole(['BUG: kernel NULL pointer dereference, address: 0000000000000000', ...text.split('\n')].join('\n'), 'decoded');
  assert.deepEqual(sig.panic!.frames, ['dump_stack_lvl', 'do_one_initcall [labcrash]']);
});
