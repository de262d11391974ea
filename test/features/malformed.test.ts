// Malformed console input: binary garbage is refused with a clear error;
// a truncated oops, output interleaved from two CPUs and a torn title line
// give a signature marked corrupted — never an exception.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../helpers/fixtures.js';
import { signatureFromConsole } from '../../features/signature.js';
import { NotAConsoleLogError } from '../../features/panic.js';

const lines = (name: string) => fixture(name).console().split('\n');

test('binary garbage is not a console log', () => {
  const junk = Buffer.alloc(8192);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
  assert.throws(() => signatureFromConsole(junk.toString('latin1'), 'junk'), NotAConsoleLogError);
  // The error says where the first control byte is: after six printable bytes here; a DEL or a byte above it counts, ESC does not.
  assert.throws(() => signatureFromConsole('hello\n' + junk.toString('latin1'), 'junk'), /first at offset 6\)/);
  assert.throws(() => signatureFromConsole('\x1b[0mhi\x7f' + junk.toString('latin1'), 'junk'), /first at offset 6\)/);
});

test('escape sequences and control bytes a serial console adds do not change what is read', () => {
  const clean = fixture('hung').console();
  // Colour on, a NUL and colour off around a line; a bell at the end of the next (before the log's CR).
  const dirty = clean.split('\n').map((l, i) => (i % 3 === 0 ? `\x1b[1;31m${l.replace(/\r?$/, '\x00\x1b[0m$&')}` : i % 3 === 1 ? l.replace(/\r?$/, '\x07$&') : l)).join('\n');
  const a = signatureFromConsole(clean, 'clean.log').panic!;
  const b = signatureFromConsole(dirty, 'dirty.log').panic!;
  // The shared hung-task dump: khungtaskd's report, titled as syzkaller titles it.
  assert.match(a.title!, /^INFO: task hung in lab_waiter$/);
  assert.equal(b.title, a.title);
  assert.deepEqual(b.frames, a.frames);
});

test('an oops cut off after its first lines is titled "... in corrupted" and marked corrupted', () => {
  const l = lines('nullderef');
  const i = l.findIndex((x) => x.includes('BUG: kernel NULL pointer dereference'));
  const sig = signatureFromConsole(l.slice(0, i + 2).join('\n'), 'truncated');
  assert.equal(sig.panic?.title, 'BUG: unable to handle kernel NULL pointer dereference in corrupted');
  assert.equal(sig.panic?.corrupted, true);
  assert.deepEqual(sig.panic?.frames, []);
});

test('two CPUs\' reports interleaved line by line: marked corrupted', () => {
  const h = lines('hung');
  const n = lines('nullderef');
  const a = h.slice(h.findIndex((x) => x.includes('INFO: task labcrash-waiter:127')));
  const b = n.slice(n.findIndex((x) => x.includes('BUG: kernel NULL pointer dereference')));
  const mixed: string[] = [];
  for (let k = 0; k < 30; k++) mixed.push(a[k]!, b[k]!);
  const sig = signatureFromConsole(mixed.join('\n'), 'mixed');
  assert.equal(sig.panic?.corrupted, true);
  assert.match(sig.panic?.corruptedReason ?? '', /interleaved/);
});

test('a title line torn by another CPU\'s output: marked corrupted', () => {
  const l = lines('nullderef');
  const i = l.findIndex((x) => x.includes('BUG: kernel NULL pointer dereference'));
  const torn = [...l.slice(0, i), l[i]!.slice(0, 40) + l[i + 5], ...l.slice(i + 1)];
  const sig = signatureFromConsole(torn.join('\n'), 'torn');
  assert.equal(sig.panic?.corrupted, true);
});

test('empty input and a log with no crash give a null title, not an error', () => {
  assert.equal(signatureFromConsole('', 'empty').panic?.title, null);
  const boot = lines('hung').slice(0, 300).join('\n');
  const sig = signatureFromConsole(boot, 'boot');
  assert.equal(sig.panic?.title, null);
  assert.equal(sig.panic?.corrupted, false);
});
