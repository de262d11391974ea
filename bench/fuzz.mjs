// A fuzz campaign against the vaat command line (the harness: test/fuzz/harness.ts).
//
//   npm run fuzz -- [--cases 10000] [--seed 1] [--jobs 2] [--timeout 60] [--heap 2048] [--out DIR]
//
// Mutated copies of the seven shared dumps (every container format) and of
// real console reports (both corpora), each run as `vaat signature --json`,
// a fifth of the dumps also as `report`, `bt -a` and `log`; prints the table
// of cases by input kind × outcome and writes the smallest reproducer of
// each distinct failure to DIR/reproducers.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, SHARED, VAAT } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : d;
};
const CASES = Number(opt('--cases', 10000));
const SEED = Number(opt('--seed', 1));
const JOBS = Number(opt('--jobs', os.availableParallelism()));
const TIMEOUT = Number(opt('--timeout', 60)) * 1000;
const HEAP = Number(opt('--heap', 2048));
const OUT = opt('--out', path.join(os.tmpdir(), `vaat-fuzz-${SEED}`));
const { rng, dumpMutators, logMutators, runCase, failureKey, saveReproducer } = await import(path.join(ROOT, 'dist', 'test', 'fuzz', 'harness.js'));
const { materialize } = await import(path.join(ROOT, 'dist', 'src', 'util', 'zst.js'));
const { loadSyzbotReports } = await import(path.join(ROOT, 'dist', 'datasets', 'syzbot.js'));

fs.mkdirSync(OUT, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vaat-fuzz-work-'));
const r = rng(SEED);

// Inputs: every shared dump, and console reports from both corpora.
const bases = [];
const kdir = path.join(SHARED, 'vmcores', '6.1.0-56-amd64');
for (const d of fs.readdirSync(kdir).sort()) {
  const meta = path.join(kdir, d, 'meta.json');
  if (!fs.existsSync(meta)) continue;
  const m = JSON.parse(fs.readFileSync(meta, 'utf8'));
  const file = materialize(path.join(kdir, d, m.dump));
  bases.push({ name: `dump:${d}`, kind: 'dump', bytes: fs.readFileSync(file) });
}
const syzk = path.join(SHARED, 'corpora', 'syzkaller-report-dev', 'report');
const syzkFiles = fs.readdirSync(syzk).sort((a, b) => Number(a) - Number(b));
for (let i = 0; i < 12; i++) {
  const f = syzkFiles[Math.floor(r() * syzkFiles.length)];
  const raw = fs.readFileSync(path.join(syzk, f), 'latin1');
  bases.push({ name: `syzkaller:${f}`, kind: 'log', bytes: Buffer.from(raw.slice(raw.indexOf('\n\n') + 2), 'latin1') });
}
const syzbot = loadSyzbotReports(path.join(SHARED, 'corpora', 'syzbot-clusters-dev', 'reports.jsonl'));
for (let i = 0; i < 12; i++) {
  const rep = syzbot[Math.floor(r() * syzbot.length)];
  bases.push({ name: `syzbot:${rep.id}`, kind: 'log', bytes: Buffer.from(rep.report, 'latin1') });
}

const commandsFor = (kind, extra) =>
  kind === 'log'
    ? [['signature', '--json', '--log', 'FILE']]
    : [['signature', '--json', 'FILE'], ...(extra ? [['bt', '-a', 'FILE'], ['log', 'FILE'], ['report', 'FILE', '-o', path.join(work, 'report')]] : [])];

// The unmutated input's output, per command: what a mutation may change only with a problem said.
const baselines = new Map();
for (const b of bases) {
  const file = path.join(work, `base-${bases.indexOf(b)}`);
  fs.writeFileSync(file, b.bytes);
  for (const cmd of commandsFor(b.kind, true)) {
    if (cmd[0] === 'report') continue;
    const { spawnSync } = await import('node:child_process');
    const res = spawnSync(process.execPath, [VAAT, ...cmd.map((a) => (a === 'FILE' ? file : a))], { encoding: 'latin1', maxBuffer: 1 << 28 });
    baselines.set(`${b.name}|${cmd.join(' ')}`, res.status === 0 ? res.stdout.split(file).join('FILE') : null);
  }
}

const table = new Map(); // kind -> outcome -> count
const failures = new Map(); // key -> {size, file}
let noOffset = 0;
let done = 0;
let next = 0;
const t0 = Date.now();
const mutatorsOf = new Map(bases.map((b) => [b.name, b.kind === 'dump' ? dumpMutators(b.bytes) : logMutators(b.bytes.toString('latin1'))]));

async function one(i) {
  const b = bases[i % bases.length];
  const muts = mutatorsOf.get(b.name);
  let m = null;
  for (let tries = 0; tries < 8 && !m; tries++) m = muts[Math.floor(r() * muts.length)](r);
  if (!m) return;
  const c = { id: `c${i}`, base: b.name, mutator: m.name, kind: b.kind, bytes: m.bytes, commands: commandsFor(b.kind, i % 5 === 0) };
  const file = path.join(work, `case-${i}`);
  fs.writeFileSync(file, c.bytes);
  for (const cmd of c.commands) {
    const baseline = baselines.get(`${b.name}|${cmd.join(' ')}`);
    const res = await runCase(VAAT, cmd, file, { timeoutMs: TIMEOUT, heapMb: HEAP, baseline: cmd[0] === 'report' ? undefined : baseline === undefined ? undefined : baseline === null ? undefined : baseline.split(file).join('FILE') });
    const k = b.kind === 'dump' ? `dump ${cmd[0]}` : 'console log';
    if (!table.has(k)) table.set(k, new Map());
    table.get(k).set(res.outcome, (table.get(k).get(res.outcome) ?? 0) + 1);
    if (res.outcome === 'clean error' && res.noOffset) noOffset++;
    if (res.outcome !== 'result' && res.outcome !== 'clean error') {
      const key = failureKey(res);
      const prev = failures.get(key);
      if (!prev || c.bytes.length < prev.size) {
        if (prev) fs.rmSync(prev.file, { force: true });
        const saved = saveReproducer(path.join(OUT, 'reproducers'), c, res);
        failures.set(key, { size: c.bytes.length, file: saved, count: (prev?.count ?? 0) + 1, example: `${b.name} ${m.name}: vaat ${res.command} → ${res.outcome}: ${res.detail}` });
      } else prev.count++;
    }
  }
  fs.rmSync(file, { force: true });
}

await Promise.all(Array.from({ length: JOBS }, async () => {
  while (next < CASES) {
    const i = next++;
    await one(i);
    done++;
    if (done % 100 === 0 || done === CASES) process.stderr.write(`fuzz: ${done}/${CASES} cases, ${failures.size} distinct failures, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  }
}));

const outcomes = ['result', 'clean error', 'crash', 'hang', 'oom', 'silent'];
const lines = [`| input / command | ${outcomes.join(' | ')} |`, `|---|${outcomes.map(() => '---').join('|')}|`];
for (const [k, m] of [...table].sort()) lines.push(`| ${k} | ${outcomes.map((o) => m.get(o) ?? 0).join(' | ')} |`);
const summary = { cases: CASES, seed: SEED, seconds: (Date.now() - t0) / 1000, table: Object.fromEntries([...table].map(([k, m]) => [k, Object.fromEntries(m)])), cleanErrorsWithoutOffset: noOffset, failures: [...failures.values()] };
fs.writeFileSync(path.join(OUT, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
console.log(lines.join('\n'));
console.log(`\n${CASES} cases in ${summary.seconds.toFixed(0)} s (seed ${SEED}); ${failures.size} distinct failures; ${noOffset} clean errors name no offset or address; reproducers in ${path.join(OUT, 'reproducers')}`);
for (const f of failures.values()) console.log(`  ${f.count}× ${f.example}`);
fs.rmSync(work, { recursive: true, force: true });
process.exit(failures.size ? 1 : 0);
