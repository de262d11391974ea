// The reader against ground truth on every real dump in ../shared/vmcores:
// log equals crash's log line for line, sys agrees with crash's sys,
// kallsyms agrees with System.map (+ the KASLR slide), BTF agrees with the
// DWARF layouts pahole printed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Program } from '../../src/kernel/program.js';
import { KdumpFile } from '../../src/dump/kdump.js';
import { fixture, fixtures, openFixture, parseCrashSys, SYSTEM_MAP, PAHOLE } from '../helpers/fixtures.js';
import { collectLog, renderLog } from '../../src/commands/log.js';
import { collectSys, renderSys } from '../../src/commands/sys.js';
import { START_KERNEL_MAP } from '../../src/arch/x86_64.js';
import { findMember, strip } from '../../src/kernel/types.js';

for (const f of fixtures()) {
  test(`log of ${f.name} equals crash's log (crash/log.txt)`, () => {
    const prog = openFixture(f.name);
    const ours = renderLog(collectLog(prog)).split('\n');
    const theirs = f.crash('log').split('\n');
    assert.equal(ours.length, theirs.length, 'same number of lines');
    for (let i = 0; i < theirs.length; i++) assert.equal(ours[i], theirs[i], `line ${i + 1}`);
  });

  test(`sys of ${f.name} agrees with crash's sys (crash/sys.txt) on every field both have`, () => {
    const prog = openFixture(f.name);
    const d = collectSys(prog);
    const ours = parseCrashSys(renderSys(d));
    const theirs = parseCrashSys(f.crash('sys'));
    for (const key of ['CPUS', 'DATE', 'UPTIME', 'LOAD AVERAGE', 'TASKS', 'NODENAME', 'RELEASE', 'VERSION', 'MACHINE', 'MEMORY']) {
      assert.equal(ours.get(key), theirs.get(key), key);
    }
    assert.equal(ours.get('KERNEL')!.endsWith('[TAINTED]'), theirs.get('KERNEL')!.endsWith('[TAINTED]'), 'KERNEL [TAINTED]');
    assert.equal(ours.get('DUMPFILE')!.includes('[PARTIAL DUMP]'), theirs.get('DUMPFILE')!.includes('[PARTIAL DUMP]'), 'DUMPFILE [PARTIAL DUMP]');
    // PANIC: the panic message, or the oops line when the oops went straight to kdump (meta.json).
    const expected = f.meta.panic ? `Kernel panic - not syncing: ${f.meta.panic}` : f.meta.oops;
    assert.equal(d.panic, expected, 'PANIC');
    if (f.meta.panic) assert.equal(ours.get('PANIC'), theirs.get('PANIC'));
  });

  test(`kallsyms of ${f.name} resolves System.map symbols at map address + KASLR slide`, () => {
    const prog = openFixture(f.name);
    const slide = prog.kernelOffset;
    const map = new Map<string, bigint[]>();
    for (const line of fs.readFileSync(SYSTEM_MAP, 'latin1').split('\n')) {
      const m = /^([0-9a-f]+) \w (\S+)/.exec(line);
      if (!m) continue;
      let a = BigInt('0x' + m[1]);
      if (a >= START_KERNEL_MAP) a += slide;
      const l = map.get(m[2]!);
      if (l) l.push(a);
      else map.set(m[2]!, [a]);
    }
    let checked = 0;
    let mismatched = 0;
    for (const e of prog.symbols.entries()) {
      const want = map.get(e.name);
      if (!want) continue; // kallsyms-only names (none expected to matter)
      checked++;
      if (!want.includes(e.address)) mismatched++;
    }
    assert.ok(checked > 90_000, `checked ${checked} symbols`);
    assert.equal(mismatched, 0, `${mismatched} of ${checked} kallsyms symbols differ from System.map + slide`);
    for (const name of ['init_task', 'runqueues', 'cgroup_mutex', 'modules', '__per_cpu_offset', '_stext', 'panic', 'init_uts_ns']) {
      assert.ok(map.get(name)!.includes(prog.symbol(name)), `${name}`);
    }
  });
}

// Dumps of one kernel build carry the same BTF and kallsyms bytes: they are decoded once per process
// (src/util/contentcache.ts). The System.map test above runs every fixture after the first on the
// shared decode; here, that the sharing happens and that each dump keeps its own addresses.
test('dumps of one build share the decoded BTF and kallsyms names, each with its own KASLR slide', () => {
  const progs = fixtures().map((f) => openFixture(f.name));
  assert.ok(progs.length >= 2, 'two dumps or more of one build');
  const slides = new Set(progs.map((p) => p.kernelOffset));
  assert.ok(slides.size >= 2, `the fixtures' KASLR slides differ (${[...slides].map((x) => x.toString(16)).join(', ')})`);
  for (const p of progs.slice(1)) {
    assert.equal(p.btf, progs[0]!.btf, 'one Btf object for the build');
    // _stext from each dump's own VMCOREINFO, not from the shared names.
    assert.equal(p.symbols.address('_stext'), p.vmcoreinfo.symbol('_stext'));
  }
  const text = (p: (typeof progs)[number]) => p.symbols.symbolize(p.symbol('panic'))!.entry.name;
  for (const p of progs) assert.equal(text(p), 'panic');
});

// The shared decode is found by the dump's stored form of the bytes (a kdump's compressed pages,
// read without decompressing them); equal stored forms are equal bytes. Checked here: a second
// dump of the build gets the decode without decompressing the tables, and a dump whose stored
// bytes differ by one byte inside the tables gets what a process with no shared decode gets.
test('the shared BTF and names are found by stored form; a dump damaged inside them is read as a fresh process reads it', () => {
  const first = Program.open(fixture('sysrq').dumpPath);
  const second = Program.open(fixture('hung').dumpPath); // the same build, compressed the same way (zlib)
  try {
    const btf = first.btf;
    assert.ok(btf && first.symbols.count > 1000);
    const before = second.dump.memory.stats.misses;
    assert.equal(second.btf, btf, 'one Btf object for the build');
    assert.ok(second.symbols.address('_stext') === second.vmcoreinfo.symbol('_stext'));
    // BTF is ~5 MB (1,200+ pages) and the names ~1,000 pages: found without reading them.
    const pagesRead = second.dump.memory.stats.misses - before;
    assert.ok(pagesRead < 50, `pages decompressed for the shared BTF and kallsyms: ${pagesRead}`);
    // The reason the sharing is right: the bytes are equal.
    const range = (p: Program, a: string, b: string) => p.read(p.symbol(a), Number(p.symbol(b) - p.symbol(a)));
    assert.ok(range(first, '__start_BTF', '__stop_BTF').equals(range(second, '__start_BTF', '__stop_BTF')));

    // One byte of a page inside one table changed in a copy of the second dump.
    const kd = second.dump.memory as KdumpFile;
    assert.ok(kd instanceof KdumpFile);
    // kallsyms' own tables are named by VMCOREINFO, not by kallsyms.
    const at = (n: string) => second.vmcoreinfo.symbol(n) ?? second.symbol(n);
    const damaged = (a: string, b: string, file: string) => {
      const bytes = fs.readFileSync(fixture('hung').dumpPath);
      const loc = kd.pageLocation(second.arch.translate((at(a) + at(b)) / 2n) / 4096)!;
      assert.ok(loc && loc.flags !== 0, 'a compressed page');
      bytes[loc.offset + (loc.size >> 1)]! ^= 0x55;
      fs.writeFileSync(file, bytes);
      return file;
    };
    const outcome = `
      const p = Program.open(process.argv[1]);
      const get = (f) => { try { return f(); } catch (e) { return 'error: ' + e.message; } };
      const syms = get(() => p.symbols.symbolize(p.vmcoreinfo.symbol('_stext')).entry.name + ' ' + p.symbols.count);
      const btf = get(() => (p.btf === null ? null : p.btf.typeCount));
      console.log(JSON.stringify({ syms, btf, problems: p.problems }));`;
    const program = JSON.stringify(new URL('../../src/kernel/program.js', import.meta.url).href);
    const warmUp = `for (const f of ${JSON.stringify([fixture('sysrq').dumpPath, fixture('hung').dumpPath])}) { const w = Program.open(f); w.btf; w.close(); }`;
    const run = (file: string, warm: boolean) => JSON.parse(execFileSync(process.execPath,
      ['--input-type=module', '-e', `const { Program } = await import(${program});${warm ? warmUp : ''}${outcome}`, file], { encoding: 'utf8' }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaat-form-'));
    try {
      const btfCopy = damaged('__start_BTF', '__stop_BTF', path.join(dir, 'btf.kdump'));
      const cold = run(btfCopy, false);
      assert.deepEqual(run(btfCopy, true), cold, 'BTF damaged: warm (build decoded, stored forms known) = cold');
      assert.equal(cold.btf, null, 'the damaged BTF page is reported, not parsed');
      assert.ok(cold.problems.some((x: string) => /BTF in the dump unreadable/.test(x)), cold.problems.join('; '));
      const namesCopy = damaged('kallsyms_names', 'kallsyms_token_table', path.join(dir, 'names.kdump'));
      const cold2 = run(namesCopy, false);
      assert.deepEqual(run(namesCopy, true), cold2, 'names damaged: warm = cold');
      assert.match(cold2.syms, /^error: cannot decode kallsyms/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    first.close();
    second.close();
  }
});

/** Members and offsets of one struct from pahole's output, depth 1 and anonymous unions/structs. */
function paholeMembers(text: string, struct: string): Array<{ name: string; bits: number }> {
  const lines = text.split('\n');
  const start = lines.indexOf(`struct ${struct} {`);
  assert.ok(start >= 0, `struct ${struct} in structs-pahole.txt`);
  const out: Array<{ name: string; bits: number }> = [];
  let depth = 1;
  for (let i = start + 1; i < lines.length && depth > 0; i++) {
    const l = lines[i]!;
    if (/^\s*(struct|union) \{$/.test(l.trim()) || /\{$/.test(l.trim())) {
      depth++;
      continue;
    }
    if (/^\s*\}/.test(l)) {
      depth--;
      continue;
    }
    const c = /\/\*\s+(\d+)(?::\s*(\d+))?\s+\d+\s+\*\/\s*$/.exec(l);
    if (!c) continue;
    const decl = l.slice(0, c.index).replace(/__attribute__\(\(.*?\)\)/g, '').trim();
    const fp = /\(\*\s*(\w+)\)/.exec(decl);
    const nm = fp ? fp[1] : /(\w+)\s*(\[[^\]]*\])*\s*(:\s*\d+)?\s*;$/.exec(decl)?.[1];
    if (!nm) continue;
    out.push({ name: nm, bits: Number(c[1]) * 8 + (c[2] ? Number(c[2]) : 0) });
  }
  return out;
}

test("the dump's BTF gives the member offsets pahole shows (DWARF) for task_struct, rq, mutex, module", () => {
  const prog = openFixture('hung');
  const text = fs.readFileSync(PAHOLE, 'latin1');
  for (const s of ['task_struct', 'rq', 'mutex', 'module']) {
    const t = prog.type(`struct ${s}`);
    const members = paholeMembers(text, s);
    assert.ok(members.length > (s === 'mutex' ? 3 : 30), `${s}: ${members.length} members parsed`);
    for (const m of members) {
      const r = findMember(t, m.name);
      assert.ok(r, `${s}.${m.name} exists in BTF`);
      // pahole prints byte:bit with bit counted within the byte for little-endian bitfields.
      assert.equal(r!.bitOffset, m.bits, `${s}.${m.name} offset`);
    }
    const size = /\/\* size: (\d+),/.exec(text.slice(text.indexOf(`struct ${s} {`)))![1];
    assert.equal((strip(t) as { size: number }).size, Number(size), `sizeof(struct ${s})`);
  }
});
