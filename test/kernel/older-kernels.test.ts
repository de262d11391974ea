// Kernels before 6.0 have no kallsyms tables in VMCOREINFO: the reader must
// say what is missing, and work from --system-map (+ --btf) instead. We
// simulate such a dump by removing the kallsyms keys from a real one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, openFixture, SYSTEM_MAP } from '../helpers/fixtures.js';
import { openDump } from '../../src/dump/open.js';
import { Program, ProgramError } from '../../src/kernel/program.js';
import { collectSys } from '../../src/commands/sys.js';
import { tempDir } from '../helpers/tmp.js';

function dumpWithoutKallsyms() {
  const d = openDump(fixture('hung').dumpPath);
  const vi = d.notes.find((n) => n.name === 'VMCOREINFO')!;
  const text = vi.desc.toString('latin1').split('\n').filter((l) => !l.startsWith('SYMBOL(kallsyms_')).join('\n');
  vi.desc = Buffer.from(text, 'latin1');
  return d;
}

test('no kallsyms in VMCOREINFO and no System.map: a clear error naming --system-map', () => {
  assert.throws(() => new Program(dumpWithoutKallsyms()), (e: unknown) => e instanceof ProgramError && /no kallsyms tables/.test(e.message) && /--system-map/.test(e.message));
});

test('with --system-map (and the BTF found through it), sys reads as with kallsyms', () => {
  const prog = new Program(dumpWithoutKallsyms(), { systemMap: SYSTEM_MAP });
  assert.equal(prog.symbolSource, 'system-map');
  assert.ok(prog.btf, 'BTF found in the dump through the map');
  const ref = collectSys(openFixture('hung'));
  const d = collectSys(prog);
  assert.equal(d.tasks, ref.tasks);
  assert.equal(d.panic, ref.panic);
  assert.equal(d.uptime?.text, ref.uptime?.text);
  assert.equal(prog.symbol('init_task'), openFixture('hung').symbol('init_task'));
});

test('with --btf <file>, types come from the file', () => {
  const ref = openFixture('hung');
  const f = path.join(tempDir('vaat-btf-'), 'vmlinux.btf');
  fs.writeFileSync(f, ref.btf!.data);
  const prog = new Program(dumpWithoutKallsyms(), { systemMap: SYSTEM_MAP, btf: f });
  assert.equal(prog.btfSource, f);
  assert.equal(prog.object('init_task').member('comm').string(), 'swapper/0');
  fs.rmSync(path.dirname(f), { recursive: true });
});
