// Issue 15's scale benchmark: the same lab scenario on guests of growing
// memory (default 512 MiB, 2 GiB, 8 GiB), through both capture paths (the
// capture kernel's makedumpfile and QEMU's dump-guest-memory), then the
// whole-process time and peak RSS of `vaat signature --json` on each dump.
// The dumps are built by the lab (cached in --out), so the figures can be
// rebuilt by this one command on any machine that runs the lab.
//   npm run bench:scale -- [--out DIR] [--cache DIR] [--sizes 512,2048,8192] [--scenario hung] [--runs 3]
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, VAAT, fmt, table, timeProcess } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const out = resolve(opt('--out', join(ROOT, 'bench', '.cache', 'scale')));
const cache = opt('--cache', undefined);
const sizes = String(opt('--sizes', '512,2048,8192')).split(',').map(Number);
const scenario = opt('--scenario', 'hung');
const runs = Number(opt('--runs', 3));

for (const mem of sizes) {
  for (const capture of ['kdump', 'qmp']) {
    const a = [VAAT, 'lab', 'build', '-o', out, '--kernels', '6.1', '--scenarios', scenario, '--runs', '1', '--capture', capture, '--mem', String(mem)];
    if (cache) a.push('--cache', cache);
    const r = spawnSync(process.execPath, a, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`lab build at ${mem} MiB (${capture}) failed: exit ${r.status}`);
  }
}
const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
const rows = [];
const results = [];
for (const mem of sizes) {
  for (const capture of ['kdump', 'qmp']) {
    const e = m.entries.find((x) => x.scenario === scenario && x.variation.memMiB === mem && x.variation.capture === capture);
    if (!e) throw new Error(`no ${scenario} dump at ${mem} MiB through ${capture} in ${out}`);
    const dump = join(out, e.path);
    const t = timeProcess(process.execPath, [VAAT, 'signature', '--json', dump], { runs });
    if (!t.ok) throw new Error(`vaat signature failed on ${dump}: ${t.err}`);
    const bytes = statSync(dump).size;
    results.push({ memMiB: mem, capture: e.capture, format: e.format, compression: e.compression, bytes, wallS: t.wall, rssMB: t.rss });
    rows.push([`${mem} MiB`, e.capture, `${e.format} (${e.compression})`, fmt(bytes / 2 ** 20, 0), fmt(t.wall), fmt(t.rss, 0)]);
  }
}
const ratio = (capture) => {
  const xs = results.filter((r) => r.capture === capture).sort((a, b) => a.memMiB - b.memMiB);
  return xs.length >= 2 ? xs[xs.length - 1].wallS / xs[0].wallS : null;
};
const maxRss = Math.max(...results.map((r) => r.rssMB));
const text = table(['guest', 'capture', 'format', 'dump MiB', 'vaat signature s', 'peak RSS MB'], rows) +
  `\n\nScenario ${scenario} on 6.1.0-56-amd64. Time at ${sizes.at(-1)} MiB over ${sizes[0]} MiB: kdump ${fmt(ratio('kdump'), 2)}×, QMP ${fmt(ratio('qmp'), 2)}× (target ≤ 1.5×); largest peak RSS ${fmt(maxRss, 0)} MB (target ≤ 250 MB). Whole processes, Node start-up included; median of ${runs} runs.\n`;
console.log(text);
writeFileSync(join(ROOT, 'bench', 'results', 'scale.md'), `# scale benchmark (${new Date().toISOString().slice(0, 10)})\n\n${text}`);
writeFileSync(join(ROOT, 'bench', 'results', 'scale.json'), JSON.stringify({ date: new Date().toISOString(), scenario, runs, results, ratio: { kdump: ratio('kdump'), qmp: ratio('qmp') }, maxRssMB: maxRss }, null, 1) + '\n');
