// Issue 3 benchmark: whole-process time and peak RSS of `vaat report` on one
// dump against crash 8.0.6 running `sys; bt -a; ps; runq; mod; log` on it.
//   node bench/report.mjs [runs]      (after `npm run build` and bench/setup.sh)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRASH, VMLINUX, VAAT, ROOT, fixtures, fmt, haveCrash, table, timeProcess } from './lib.mjs';

const runs = Number(process.argv[2] ?? 3);
const crashRuns = Number(process.env.CRASH_RUNS ?? 1);
const tmp = mkdtempSync(join(tmpdir(), 'vaat-bench-report-'));
if (!haveCrash()) console.error(`crash or vmlinux missing (${CRASH}, ${VMLINUX}): run bench/setup.sh; crash columns will be n/a`);
const rows = [];
let sv = 0;
let sc = 0;
for (const f of await fixtures()) {
  const v = timeProcess(process.execPath, [VAAT, 'report', f.dump, '-o', join(tmp, f.name), '-j', '1'], { runs });
  const c = haveCrash() ? timeProcess(CRASH, ['-s', VMLINUX, f.dump], { runs: crashRuns, input: 'sys\nbt -a\nps\nrunq\nmod\nlog\nquit\n' }) : null;
  sv += v.wall;
  if (c) sc += c.wall;
  rows.push([f.name, fmt(v.wall), c ? fmt(c.wall) : 'n/a', c ? fmt(c.wall / v.wall, 1) + '×' : 'n/a', fmt(v.rss, 0), c ? fmt(c.rss, 0) : 'n/a']);
}
rmSync(tmp, { recursive: true, force: true });
const text = table(['dump', 'vaat report s', 'crash sys;bt -a;ps;runq;mod;log s', 'ratio', 'vaat peak RSS MB', 'crash peak RSS MB'], rows) +
  `\n\nTotal: vaat ${fmt(sv)} s, crash ${fmt(sc)} s (${fmt(sc / sv, 1)}×). vaat report also runs lockinfo --blocked, tasktable, cpuinfo and cgroupinfo, which crash does not. Runs: vaat ${runs} (median), crash ${crashRuns}.\n`;
console.log(text);
writeFileSync(join(ROOT, 'bench', 'results', 'report.md'), `# report benchmark (${new Date().toISOString().slice(0, 10)})\n\n${text}`);
