// Issue 5 benchmark: whole-process time and peak RSS of `vaat signature
// --json` on each dump against crash 8.0.6 gathering the facts a signature
// holds: `sys -t; log; bt; bt -a; foreach UN bt; ps; runq; mod` (crash has
// no command for cgroup hot spots or TLB state, so it does less).
//   node bench/signature.mjs [runs]     (after `npm run build` and bench/setup.sh)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CRASH, VMLINUX, VAAT, ROOT, fixtures, fmt, haveCrash, table, timeProcess } from './lib.mjs';

const runs = Number(process.argv[2] ?? 3);
const crashRuns = Number(process.env.CRASH_RUNS ?? 1);
if (!haveCrash()) console.error(`crash or vmlinux missing (${CRASH}, ${VMLINUX}): run bench/setup.sh; crash columns will be n/a`);
const rows = [];
let sv = 0;
let sc = 0;
let maxWall = 0;
let maxRss = 0;
for (const f of await fixtures()) {
  const v = timeProcess(process.execPath, [VAAT, 'signature', '--json', f.dump], { runs });
  const c = haveCrash() ? timeProcess(CRASH, ['-s', VMLINUX, f.dump], { runs: crashRuns, input: 'sys -t\nlog\nbt\nbt -a\nforeach UN bt\nps\nrunq\nmod\nquit\n' }) : null;
  sv += v.wall;
  if (c) sc += c.wall;
  maxWall = Math.max(maxWall, v.wall);
  maxRss = Math.max(maxRss, v.rss);
  rows.push([f.name, fmt(v.wall), c ? fmt(c.wall) : 'n/a', c ? fmt(c.wall / v.wall, 1) + '×' : 'n/a', fmt(v.rss, 0), c ? fmt(c.rss, 0) : 'n/a']);
}
const text = table(['dump', 'vaat signature s', 'crash (same facts) s', 'ratio', 'vaat peak RSS MB', 'crash peak RSS MB'], rows) +
  `\n\nTotal: vaat ${fmt(sv)} s, crash ${fmt(sc)} s (${fmt(sc / sv, 1)}×). Slowest vaat signature ${fmt(maxWall)} s (target ≤ 1 s), peak RSS ${fmt(maxRss, 0)} MB (target ≤ 250 MB). Whole processes, Node start-up included. Runs: vaat ${runs} (median), crash ${crashRuns}.\n`;
console.log(text);
writeFileSync(join(ROOT, 'bench', 'results', 'signature.md'), `# signature benchmark (${new Date().toISOString().slice(0, 10)})\n\n${text}`);
