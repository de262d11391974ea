// Every failure an outside fuzz campaign found, rebuilt from the smallest
// input that shows it — made here from a shared dump (truncated, a header
// field patched, a VMCOREINFO value rewritten, a kernel word rewritten in the
// uncompressed ELF dump) or written as text — and run through the CLI as a
// user would. Each must end with a result (problems said) or one line naming
// what is wrong and where; never a stack trace, a hang or silent garbage.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { vaat } from '../helpers/cli.js';
import { fixture, openFixture } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('vaat-regress-');
// The patched dumps are copies of shared ones (over a gigabyte in all): never left behind.
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const hung = () => fs.readFileSync(fixture('hung').dumpPath);

function oneLine(args: string[], what: RegExp) {
  const r = vaat(args, { timeoutMs: 60_000 });
  assert.notEqual(r.code, 0, `vaat ${args.join(' ')} should fail`);
  const lines = r.err.trim().split('\n').filter((l) => !/^vaat: warning: /.test(l));
  assert.equal(lines.length, 1, `one line, got:\n${r.err}`);
  assert.match(lines[0]!, what);
  assert.doesNotMatch(r.err, /internal error|^\s+at /m);
  return lines[0]!;
}

function write(name: string, b: Buffer): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, b);
  return f;
}

/** The file offset of a kernel variable in the ELF dump (timer): symbol → physical → PT_LOAD. */
function elfOffsetOf(symbol: string): { file: Buffer; offset: number } {
  const prog = openFixture('timer');
  const paddr = Number(prog.arch.translate(prog.symbol(symbol)));
  const file = fs.readFileSync(fixture('timer').dumpPath);
  const phoff = Number(file.readBigUInt64LE(32));
  const phnum = file.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * 56;
    if (file.readUInt32LE(o) !== 1) continue;
    const off = Number(file.readBigUInt64LE(o + 8));
    const pa = Number(file.readBigUInt64LE(o + 24));
    const sz = Number(file.readBigUInt64LE(o + 32));
    if (paddr >= pa && paddr < pa + sz) return { file: Buffer.from(file), offset: off + (paddr - pa) };
  }
  throw new Error(`${symbol} not in a PT_LOAD`);
}

test('header fields that would size allocations or reads: one line naming the field\'s offset', () => {
  const h = hung();
  const big = Buffer.from(h);
  big.writeInt32LE(0x7fffffff, 436); // bitmap_blocks
  oneLine(['sys', write('bitmap-blocks.kdump', big)], /impossible|larger than|ends at \d+ bytes|offset \d+/);
  const bs = h.readInt32LE(428);
  const notes = Buffer.from(h);
  notes.writeBigUInt64LE(2n ** 53n + 1n, bs + 48); // sub-header offset_note past 2^53
  const r = vaat(['sys', write('note-offset.kdump', notes)], { timeoutMs: 60_000 });
  assert.doesNotMatch(r.err, /internal error|^\s+at /m);
  if (r.code !== 0) assert.equal(r.err.trim().split('\n').length, 1);
  else assert.match(r.err, /vaat: warning: .*(impossible|note|offset)/i);
});

test('a kdump file cut inside its signature is a truncated dump, not a text file', () => {
  oneLine(['sys', write('cut-magic.kdump', hung().subarray(0, 5))], /truncated dump: the file ends after 5 bytes, inside its "KDUMP" signature at offset 0/);
});

test('clean errors the 10,000-case campaigns found without a place now name one: binary "console" text, an ELF without PT_LOAD, kdump header values', () => {
  const bin = Buffer.alloc(4096, 0x41);
  for (let i = 100; i < bin.length; i += 2) bin[i] = 0x01;
  oneLine(['signature', '--log', write('binary.log', bin)], /not a console log: more than 30% of the first 64 KiB are control bytes \(the first at offset 100\)/);
  // The timer dump is ELF: every PT_LOAD turned into PT_NULL.
  const f = Buffer.from(fs.readFileSync(fixture('timer').dumpPath));
  const phoff = Number(f.readBigUInt64LE(32));
  const phnum = f.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) if (f.readUInt32LE(phoff + i * 56) === 1) f.writeUInt32LE(0, phoff + i * 56);
  oneLine(['sys', write('no-load.elf', f)], new RegExp(`ELF: no PT_LOAD segments among the ${phnum} program headers at offset ${phoff}`));
  // kdump header fields with impossible values: the field, its value and its offset.
  const hv = hung();
  hv.writeInt32LE(65536, 8);
  oneLine(['sys', write('header-version.kdump', hv)], /impossible header_version 65536 at offset 8/);
  const bs = hung();
  bs.writeInt32LE(36864, 428);
  oneLine(['sys', write('block-size.kdump', bs)], /impossible block_size 36864 at offset 428/);
});

test('a FIFO with no writer: refused at once, not waited on', () => {
  const fifo = path.join(tmp, 'fifo');
  spawnSync('mkfifo', [fifo]);
  const t0 = Date.now();
  oneLine(['sys', fifo], /not a regular file \(a FIFO\)/);
  assert.ok(Date.now() - t0 < 30_000);
});

test('a damaged SYMBOL(kallsyms_…) line: named, not BigInt(undefined)', () => {
  const b = hung();
  const key = 'SYMBOL(kallsyms_num_syms)=';
  const at = b.indexOf(key, 0, 'latin1');
  assert.ok(at > 0);
  b.fill('z'.charCodeAt(0), at + key.length, at + key.length + 16);
  oneLine(['bt', write('kallsyms-zz.kdump', b)], /VMCOREINFO SYMBOL\(kallsyms_num_syms\) is not an address \("zzzz/);
});

test('wrong printk layout in VMCOREINFO: named, or the log says how few records it could read', () => {
  const b = hung();
  const key = 'SIZE(printk_info)=';
  const at = b.indexOf(key, 0, 'latin1');
  b.write('9', at + key.length, 'latin1'); // 88 -> 98: every info record misread
  const r = vaat(['log', write('printk-size.kdump', b)], { timeoutMs: 60_000 });
  assert.doesNotMatch(r.err, /internal error|^\s+at /m);
  if (r.code === 0) assert.match(r.err, /vaat: warning: /, 'a log read with a wrong layout says so');
  const b2 = hung();
  const k2 = 'SIZE(printk_info)=';
  const a2 = b2.indexOf(k2, 0, 'latin1');
  // Same width as the value it replaces: "88" becomes "09", smaller than the fields read from it.
  b2.write('09', a2 + k2.length, 'latin1');
  oneLine(['log', write('printk-off.kdump', b2)], /printk layout is impossible \(OFFSET\(printk_info\.ts_nsec\) 8\+8 > 9/);
});

test('garbage OSRELEASE: the signature says the release is unknown and why', () => {
  const b = hung();
  const key = 'OSRELEASE=';
  const at = b.indexOf(key, 0, 'latin1');
  b.write('\x01\x02zz', at + key.length, 'latin1');
  const r = vaat(['signature', '--json', write('osrelease.kdump', b)], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.err);
  const sig = JSON.parse(r.out) as { source: { release: string | null }; problems: Array<{ reason: string; context?: string }> };
  assert.equal(sig.source.release, null);
  assert.ok(sig.problems.some((p) => p.context === 'dump' && /OSRELEASE .* is not a kernel release/.test(p.reason)), JSON.stringify(sig.problems));
});

test('a damaged CRASHTIME value: still a kdump (bt -a as crash shows it for the intact dump), the crash time named as damaged', () => {
  const f = fixture('softlockup');
  const b = fs.readFileSync(f.dumpPath);
  const key = 'CRASHTIME=';
  let n = 0;
  for (let at = b.indexOf(key, 0, 'latin1'); at >= 0; at = b.indexOf(key, at + 1, 'latin1')) {
    for (let i = at + key.length; b[i] !== 0x0a && i < at + key.length + 20; i++) b[i] = 0x7a;
    n++;
  }
  assert.ok(n >= 1);
  const file = write('crashtime.kdump', b);
  // crash's bt -a of the intact dump: the panic CPU starts in machine_kexec, the other CPU in its NMI handler.
  const bt = vaat(['bt', '-a', file], { timeoutMs: 120_000 });
  assert.equal(bt.code, 0, bt.err);
  const fns = (t: string) => [...t.matchAll(/^\s*#\d+ \[[0-9a-f]+\] (\S+?)(?:\+\S+)? at/gm)].map((m) => m[1]!.replace(/\.cold$/, ''));
  const ours = fns(bt.out);
  const crash = fns(f.crash('bt-a'));
  assert.deepEqual(ours.slice(0, 3), crash.slice(0, 3));
  assert.ok(ours.includes('crash_nmi_callback') && crash.includes('crash_nmi_callback'));
  const sys = vaat(['sys', file], { timeoutMs: 120_000 });
  assert.equal(sys.code, 0, sys.err);
  assert.match(sys.err, /crash time: VMCOREINFO CRASHTIME="z+" is not a number of seconds/);
  assert.doesNotMatch(sys.out, /DATE/);
});

test('nr_cpu_ids read as billions: bounded, said, and every per-CPU command finishes', () => {
  const { file, offset } = elfOffsetOf('nr_cpu_ids');
  file.writeUInt32LE(0x7fffffff, offset);
  const f = write('nr-cpu-ids.elf', file);
  const t0 = Date.now();
  const r = vaat(['signature', '--json', f], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.err);
  const sig = JSON.parse(r.out) as { problems: Array<{ reason: string }> };
  assert.ok(sig.problems.some((p) => /nr_cpu_ids reads 2147483647, outside 1\.\.8192/.test(p.reason)));
  for (const cmd of [['bt', '-a', f], ['runq', f], ['cpuinfo', f]]) {
    const x = vaat(cmd, { timeoutMs: 120_000 });
    assert.doesNotMatch(x.err, /internal error|^\s+at /m, cmd.join(' '));
  }
  assert.ok(Date.now() - t0 < 240_000);
});

test('bt -a with no readable current task: one line saying why, not an empty success', () => {
  // Every runqueue's curr pointer points nowhere: rewrite runqueues' base so nothing resolves.
  const { file, offset } = elfOffsetOf('__per_cpu_offset');
  for (let i = 0; i < 2; i++) file.writeBigUInt64LE(0xdead000000000000n, offset + i * 8);
  const f = write('no-curr.elf', file);
  const r = vaat(['bt', '-a', f], { timeoutMs: 120_000 });
  assert.doesNotMatch(r.err, /internal error|^\s+at /m);
  if (r.code === 0) assert.ok(r.out.trim().length > 0, 'bt -a printed nothing and said nothing');
  else assert.match(r.err, /no backtrace could be read/);
});

test('a jiffies or tick that makes no sense: no Infinity or NaN in sys', () => {
  const { file, offset } = elfOffsetOf('tick_nsec');
  file.writeBigUInt64LE(2n ** 62n, offset);
  const r = vaat(['sys', write('tick.elf', file)], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.err);
  assert.doesNotMatch(r.out, /Infinity|NaN/);
  assert.match(r.err, /vaat: warning: .*tick_nsec/);
});

test('a flattened dump whose tail was zero-filled: read fast, the zeros said', () => {
  const src = fs.readFileSync(fixture('spinlockup').dumpPath);
  const b = Buffer.from(src);
  b.fill(0, Math.floor(b.length * 0.6));
  const t0 = Date.now();
  const r = vaat(['sys', write('zero-tail.flat', b)], { timeoutMs: 60_000 });
  assert.ok(Date.now() - t0 < 30_000, 'indexed at once, not 16 bytes at a time');
  assert.doesNotMatch(r.err, /internal error|^\s+at /m);
  // The page tables sit in the zeroed part: a one-line error saying no record holds them; else a warning.
  if (r.code === 0) assert.match(r.err, /zero-filled from file offset \d+/);
  else assert.match(r.err, /^vaat: .*no record of the flattened dump holds this offset.*\n$/);
});

test('hostile console text: an 8 MiB line and a million-frame trace finish quickly; frames past 48 are cut and marked', () => {
  const huge = write('huge-line.log', Buffer.from('BUG: kernel NULL pointer dereference, address: 0000000000000000\n' + 'A'.repeat(8 << 20) + '\nCall Trace:\n f+0x1/0x2\n', 'latin1'));
  const t0 = Date.now();
  assert.equal(vaat(['signature', '--log', huge, '--json'], { timeoutMs: 60_000 }).code, 0);
  const many = write('frames.log', Buffer.from('BUG: kernel NULL pointer dereference, address: 0000000000000000\nCall Trace:\n' + Array.from({ length: 200_000 }, (_, i) => ` f${i}+0x1/0x2\n`).join(''), 'latin1'));
  const r = vaat(['signature', '--log', many, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.err);
  const p = (JSON.parse(r.out) as { panic: { frames: string[]; framesTruncated: boolean } }).panic;
  assert.equal(p.frames.length, 48);
  assert.equal(p.framesTruncated, true);
  assert.ok(Date.now() - t0 < 60_000);
});

test('signature --batch: symlinked dumps are signed, --vector writes vectors, a bad input has its error line', () => {
  const dir = path.join(tmp, 'links');
  fs.mkdirSync(dir);
  for (const n of ['hung', 'sysrq']) fs.symlinkSync(fixture(n).dumpPath, path.join(dir, `${n}.kdump`));
  fs.writeFileSync(path.join(dir, 'bad.kdump'), Buffer.concat([Buffer.from('KDUMP   '), Buffer.alloc(100)]));
  const out = path.join(tmp, 'batch.jsonl');
  const r = vaat(['signature', '--batch', dir, '--vector', '-o', out], { timeoutMs: 120_000 });
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { vector?: number[]; error?: string; source: { name: string } });
  assert.equal(lines.length, 3, r.err);
  assert.equal(lines.filter((l) => Array.isArray(l.vector) && l.vector.length > 0).length, 2);
  assert.match(lines.find((l) => l.error)!.error!, /kdump|header|truncated|ends/);
  assert.match(r.out, /2 of 3 signatures/);
});
