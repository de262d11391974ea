// Issue 2 benchmark: whole-process time and peak RSS of `vaat log` and
// `vaat sys` against crash 8.0.6 (`crash -s vmlinux dump` running the same
// command) and `vaat log` against `makedumpfile --dump-dmesg`; plus the
// in-process time of opening a dump and decoding its kernel log.
//   node bench/reader.mjs [runs]      (after `npm run build` and bench/setup.sh)
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CRASH, VMLINUX, VAAT, ROOT, fixtures, fmt, haveCrash, table, timeProcess } from './lib.mjs';

const runs = Number(process.argv[2] ?? 3);
const crashRuns = Number(process.env.CRASH_RUNS ?? 1);
const { Program } = await import(join(ROOT, 'dist', 'src', 'kernel', 'program.js'));
const { readLog } = await import(join(ROOT, 'dist', 'src', 'kernel', 'printk.js'));
const tmp = mkdtempSync(join(tmpdir(), 'vaat-bench-'));
if (!haveCrash()) console.error(`crash or vmlinux missing (${CRASH}, ${VMLINUX}): run bench/setup.sh; crash columns will be n/a`);

const rows = [];
const sums = { vlog: 0, vsys: 0, clog: 0, csys: 0 };
for (const f of await fixtures()) {
  const vsys = timeProcess(process.execPath, [VAAT, 'sys', f.dump], { runs });
  const vlog = timeProcess(process.execPath, [VAAT, 'log', f.dump], { runs });
  let csys = null;
  let clog = null;
  if (haveCrash()) {
    csys = timeProcess(CRASH, ['-s', VMLINUX, f.dump], { runs: crashRuns, input: 'sys\nquit\n' });
    clog = timeProcess(CRASH, ['-s', VMLINUX, f.dump], { runs: crashRuns, input: 'log\nquit\n' });
  }
  const out = join(tmp, 'dmesg.txt');
  // makedumpfile refuses to overwrite its output file.
  const mdf = timeProcess('makedumpfile', ['--dump-dmesg', f.dump, out], { runs, beforeEach: () => rmSync(out, { force: true }) });
  rmSync(out, { force: true });
  // In process: open the dump and decode its log (no kallsyms/BTF needed). The first run pays for
  // V8 compiling the code (cold); the median of the next ones is the steady state (warm).
  const inproc = [];
  for (let i = 0; i < Math.max(runs, 5) + 1; i++) {
    const t0 = performance.now();
    const p = Program.open(f.dump);
    readLog(p, { levels: false });
    inproc.push(performance.now() - t0);
    p.close();
  }
  const cold = inproc.shift();
  inproc.sort((a, b) => a - b);
  const ip = `${fmt(cold, 1)} / ${fmt(inproc[Math.floor(inproc.length / 2)], 1)}`;
  rows.push([
    f.name, f.meta.format + '/' + f.meta.compression,
    fmt(vsys.wall), csys ? fmt(csys.wall) : 'n/a', csys ? fmt(csys.wall / vsys.wall, 1) + '×' : 'n/a',
    fmt(vlog.wall), clog ? fmt(clog.wall) : 'n/a', clog ? fmt(clog.wall / vlog.wall, 1) + '×' : 'n/a',
    mdf.ok ? fmt(mdf.wall * 1000, 0) : `fails: ${mdf.err.slice(0, 60)}`, ip,
    fmt(Math.max(vsys.rss, vlog.rss), 0), csys ? fmt(Math.max(csys.rss, clog.rss), 0) : 'n/a',
  ]);
  sums.vlog += vlog.wall; sums.vsys += vsys.wall;
  if (csys) { sums.clog += clog.wall; sums.csys += csys.wall; }
}
rmSync(tmp, { recursive: true, force: true });
const head = ['dump', 'format', 'vaat sys s', 'crash sys s', 'ratio', 'vaat log s', 'crash log s', 'ratio', 'makedumpfile --dump-dmesg ms', 'in-process open+dmesg ms (cold / warm)', 'vaat peak RSS MB', 'crash peak RSS MB'];
const text = table(head, rows) + `\n\nTotals: vaat sys ${fmt(sums.vsys)} s vs crash ${fmt(sums.csys)} s (${fmt(sums.csys / sums.vsys, 1)}×); vaat log ${fmt(sums.vlog)} s vs crash ${fmt(sums.clog)} s (${fmt(sums.clog / sums.vlog, 1)}×). Runs: vaat ${runs} (median), crash ${crashRuns}.\n`;
console.log(text);
writeFileSync(join(ROOT, 'bench', 'results', 'reader.md'), `# reader benchmark (${new Date().toISOString().slice(0, 10)})\n\n${text}`);
