// Bad input never produces a stack trace or a hang: a one-line error and a
// non-zero exit when nothing useful can be read, warnings otherwise.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fixture, openFixture } from '../helpers/fixtures.js';
import { packageRoot } from '../../src/util/datafile.js';
import type { KdumpFile } from '../../src/dump/kdump.js';
import { tempDir } from '../helpers/tmp.js';

const VAAT = path.join(packageRoot(), 'bin', 'vaat.js');
const tmp = tempDir('vaat-bad-');

function vaat(...args: string[]) {
  const r = spawnSync(process.execPath, [VAAT, ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.notEqual(r.signal, 'SIGTERM', `vaat ${args.join(' ')} hung`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function expectOneLineError(file: string, what: RegExp) {
  const r = vaat('sys', file);
  assert.notEqual(r.code, 0, `exit code for ${path.basename(file)}`);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.err}`);
  assert.match(lines[0]!, /^vaat: /);
  assert.match(lines[0]!, what);
  assert.doesNotMatch(r.err, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(lines[0]!, /internal error/);
  assert.equal(r.out, '');
}

test('an empty file, a text file, a missing file: one-line errors', () => {
  const empty = path.join(tmp, 'empty');
  fs.writeFileSync(empty, '');
  expectOneLineError(empty, /empty file/);
  const text = path.join(tmp, 'notes.txt');
  fs.writeFileSync(text, 'this is not a vmcore\nat all\n');
  expectOneLineError(text, /text file/);
  expectOneLineError(path.join(tmp, 'nope'), /ENOENT|no such file/i);
});

test('the hung dump cut at several offsets: one-line errors, or warnings that say it is truncated', () => {
  const src = fs.readFileSync(fixture('hung').dumpPath);
  for (const cut of [100, 5000, 100_000, 4_000_000, 12_000_000]) {
    const f = path.join(tmp, `cut-${cut}.kdump`);
    fs.writeFileSync(f, src.subarray(0, cut));
    expectOneLineError(f, /ends at|cut short|truncated/);
  }
  const f = path.join(tmp, 'cut-16000000.kdump');
  fs.writeFileSync(f, src.subarray(0, 16_000_000));
  const r = vaat('sys', f);
  assert.equal(r.code, 0, 'most of the dump is there: sys still prints');
  assert.match(r.out, /RELEASE: 6\.1\.0-56-amd64/);
  assert.match(r.err, /dump file truncated at 16000000 bytes: the data of \d+ of 19761 dumped pages is missing/);
  assert.doesNotMatch(r.err, /^\s+at /m);
});

test('a zeroed VMCOREINFO note: one-line error naming it', () => {
  const src = Buffer.from(fs.readFileSync(fixture('hung').dumpPath));
  const at = src.indexOf('OSRELEASE=6.1.0-56-amd64');
  assert.ok(at > 0 && at < 1 << 16, 'VMCOREINFO text in the sub-header');
  const end = src.indexOf('CRASHTIME=', at) + 'CRASHTIME=1795734669\n'.length;
  src.fill(0, at, end);
  const f = path.join(tmp, 'zeroed-vmcoreinfo.kdump');
  fs.writeFileSync(f, src);
  expectOneLineError(f, /VMCOREINFO note .* empty or damaged/);
});

test('a corrupted page that the reader needs: one-line error with the address; a corrupted page it does not need: warning', () => {
  const prog = openFixture('hung');
  const kd = prog.dump.memory as KdumpFile;
  const src = Buffer.from(fs.readFileSync(fixture('hung').dumpPath));
  const pa = prog.translate(prog.vmcoreinfo.symbol('kallsyms_token_table')!)!;
  const loc = kd.pageLocation(Math.floor(pa / 4096))!;
  assert.ok(loc.flags & 1, 'a zlib page');
  const bad = Buffer.from(src);
  bad.fill(0xaa, loc.offset + 2, loc.offset + loc.size);
  const f = path.join(tmp, 'corrupt-kallsyms.kdump');
  fs.writeFileSync(f, bad);
  expectOneLineError(f, /kallsyms from the dump (\([^)]*\))?: corrupt page \(zlib: .*file offset 0x[0-9a-f]+\) at virtual address 0x[0-9a-f]+ \(physical 0x[0-9a-f]+\)/);

  // A page of init_task's stack is not needed by sys: the command still prints.
  const stackPa = prog.translate(prog.object('init_task').member('comm').address!)!;
  const loc2 = kd.pageLocation(Math.floor(stackPa / 4096))!;
  const bad2 = Buffer.from(src);
  bad2.fill(0xaa, loc2.offset + 2, loc2.offset + loc2.size);
  const f2 = path.join(tmp, 'corrupt-init-task.kdump');
  fs.writeFileSync(f2, bad2);
  const r = vaat('sys', f2);
  assert.equal(r.code, 0);
  assert.match(r.err, /corrupt page/);
  assert.doesNotMatch(r.err, /^\s+at /m);
});

test('a QEMU ELF dump without its VMCOREINFO note: found by scanning memory for OSRELEASE=', () => {
  const src = fs.readFileSync(fixture('timer').dumpPath);
  const at = src.indexOf('VMCOREINFO\0');
  assert.ok(at > 0 && at < 1 << 16);
  const f = path.join(tmp, 'no-note.elf');
  const copy = Buffer.from(src);
  copy.write('XMCOREINFO', at, 'latin1');
  fs.writeFileSync(f, copy);
  const r = vaat('sys', f);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /RELEASE: 6\.1\.0-56-amd64/);
  assert.match(r.out, /PANIC: "Kernel panic - not syncing: Fatal exception in interrupt"/);
  assert.match(r.err, /found VMCOREINFO by scanning memory/);
  fs.rmSync(f);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
