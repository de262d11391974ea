// Where a batch's extraction time goes, dump by dump, in one process as `vaat ingest --jobs 1` runs
// it: opening the dump, decoding (or finding) the build's kallsyms, its BTF, and the rest of the
// signature. Also the BTF step per capture format and the CPU of each of the process's threads
// (the main thread against V8's helpers).
//
//   npm run build && node bench/extract-phases.mjs <dir | manifest.json> [--stride K --part J]
//
// --stride K --part J: only the dumps whose position i has i % K === J (two processes with parts 0
// and 1 of stride 2 split a set the way two jobs would).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, watchThreads } from './lib.mjs';

const { Program } = await import(path.join(ROOT, 'dist/src/kernel/program.js'));
const { signatureAndLogFromDump } = await import(path.join(ROOT, 'dist/features/signature.js'));
const { materialize } = await import(path.join(ROOT, 'dist/src/util/zst.js'));

const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
const where = argv.find((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
if (!where) {
  console.error('usage: node bench/extract-phases.mjs <dir | manifest.json> [--stride K --part J]');
  process.exit(2);
}
const files = [];
if (where.endsWith('.json')) {
  for (const e of JSON.parse(fs.readFileSync(where, 'utf8')).entries) files.push(path.join(path.dirname(where), e.path));
} else {
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/^vmcore/.test(e.name) && !/\.(json|txt|log)$/.test(e.name)) files.push(p);
    }
  };
  walk(where);
  files.sort();
}
const K = Number(opt('--stride', 1));
const J = Number(opt('--part', 0));
const mine = files.filter((_, i) => i % K === J);

const threads = watchThreads(process.pid);
const ms = { open: 0, symbols: 0, btf: 0, rest: 0 };
const btfBy = new Map();
for (const f of mine) {
  let t = performance.now();
  const p = Program.open(materialize(f), {}); // a .zst dump is decompressed first, as ingest does
  let u = performance.now();
  ms.open += u - t;
  t = u;
  void p.symbols;
  u = performance.now();
  ms.symbols += u - t;
  t = u;
  void p.btf;
  u = performance.now();
  ms.btf += u - t;
  // The lab's run directories name the capture: r3-1cpu-512m-qmp-none-… → qmp-none.
  const fmt = path.basename(path.dirname(f)).split('-').slice(3, 5).join('-') || 'other';
  const b = btfBy.get(fmt) ?? { n: 0, ms: 0 };
  b.n++;
  b.ms += u - t;
  btfBy.set(fmt, b);
  t = u;
  signatureAndLogFromDump(p, f);
  ms.rest += performance.now() - t;
  p.close();
}
const cpu = process.cpuUsage();
const sec = (x) => Number((x / 1000).toFixed(2));
console.log(JSON.stringify({
  dumps: mine.length,
  seconds: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, sec(v)])),
  cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
  threadsCpuSeconds: Object.fromEntries(Object.entries(threads()).map(([k, v]) => [k, Number(v.toFixed(2))])),
  btfMsPerDump: Object.fromEntries([...btfBy].map(([k, v]) => [k, `${(v.ms / v.n).toFixed(1)} (${v.n} dumps)`])),
}, null, 1));
