// report over the whole ../shared/vmcores tree plus a truncated copy: one
// file pair per dump, the truncated one reported, the others unaffected.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SHARED, fixture, fixtures } from '../helpers/fixtures.js';
import { packageRoot } from '../../src/util/datafile.js';
import { tempDir } from '../helpers/tmp.js';

test('report over ../shared/vmcores and a truncated copy: a .txt/.json pair per dump, the broken one reported', () => {
  const tmp = tempDir('vaat-report-');
  const extra = path.join(tmp, 'in');
  fs.mkdirSync(extra);
  fs.writeFileSync(path.join(extra, 'vmcore-truncated.kdump'), fs.readFileSync(fixture('hung').dumpPath).subarray(0, 9_000_000));
  const out = path.join(tmp, 'out');
  const r = spawnSync(process.execPath, [path.join(packageRoot(), 'bin', 'vaat.js'), 'report', path.join(SHARED, 'vmcores'), extra, '-o', out, '-j', '2', '--json'], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as Array<{ dump: string; error: string | null; panic: string | null }>;
  assert.equal(rows.length, fixtures().length + 1);
  for (const f of fixtures()) {
    const row = rows.find((x) => x.dump.includes(`/${f.name}/`));
    assert.ok(row && !row.error, `${f.name} reported`);
    const base = path.join(out, row.dump.replace(/\//g, '_'));
    assert.ok(fs.existsSync(base + '.txt') && fs.existsSync(base + '.json'));
    const text = fs.readFileSync(base + '.txt', 'utf8');
    for (const sec of ['sys -t', 'log --tail 60', 'bt -a', 'runq', 'lockinfo --blocked', 'mod', 'cpuinfo', 'cgroupinfo']) assert.match(text, new RegExp(`==== ${sec.replace(/[-]/g, '\\-')}`));
    JSON.parse(fs.readFileSync(base + '.json', 'utf8'));
  }
  const bad = rows.find((x) => x.dump === 'vmcore-truncated.kdump')!;
  assert.ok(bad.error, 'the truncated dump is reported as unreadable');
  assert.match(fs.readFileSync(path.join(out, 'summary.txt'), 'utf8'), /vmcore-truncated\.kdump\s+-\s+UNREADABLE/);
  assert.match(r.stderr, /8\/8/);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('dumps found in a directory: ELF cores (e_type CORE) and kdump files, not executables or text', async () => {
  const { findDumps } = await import('../../src/report/batch.js');
  const { buildElf, patternPage } = await import('../helpers/synth.js');
  const dir = tempDir('vaat-find-');
  fs.writeFileSync(path.join(dir, 'vmcore.elf'), buildElf({ segments: [{ paddr: 0, data: patternPage(1) }] }));
  fs.copyFileSync(process.execPath, path.join(dir, 'node-binary'));
  fs.writeFileSync(path.join(dir, 'console.log'), '[    0.000000] Linux version 6.1.0\n');
  fs.copyFileSync(path.join(fixture('hung').dir, 'vmcore.kdump'), path.join(dir, 'vmcore.kdump'));
  assert.deepEqual(findDumps([dir]).map((d) => d.name).sort(), ['vmcore.elf', 'vmcore.kdump']);
  fs.rmSync(dir, { recursive: true, force: true });
});
