// `vaat lab build`: real labelled vmcores from real Debian kernels under
// QEMU. For each kernel × scenario × run it derives a variation from the
// seed (CPUs, memory, noise, timing, capture path and compression), boots,
// crashes, collects, checks the dump with `vaat sys`, and records a
// manifest entry. Every run is cached by content — kernel release,
// scenario, variation and the lab's own version — so a rebuild only redoes
// what changed. One VM at a time: a 2-core TCG host fits one.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Ajv } from 'ajv';
import { dataJson, packageRoot } from '../../src/util/datafile.js';
import { ensureHostPackages, chooseAccel, LabError, type Accel } from './host.js';
import { prepareKernel, type LabKernel } from './kernel.js';
import { buildModule, buildInitramfs, labVersion } from './build.js';
import { runScenario, type Variation, type RunResult, type LabNames } from './run.js';

export interface Scenario {
  name: string;
  label: string;
  panics: string;
  confusable?: string[];
  varies?: string;
  minCpus?: number;
  timeout: number;
  /** The pool the scenario's lock is drawn from (default: mutexes). */
  lockType?: 'mutex' | 'rwsem' | 'spinlock';
}

interface NamePools {
  mutexes: string[];
  rwsems: string[];
  spinlocks: string[];
  functions: string[];
  comms: string[];
  cgroups: string[];
}

export interface ManifestEntry {
  id: string;
  path: string;
  label: string;
  scenario: string;
  /** The panic message the console showed ("Kernel panic - not syncing: ..." text, else the first oops line). */
  panic: string | null;
  kernel: string;
  capture: 'kdump' | 'qmp' | 'qmp-fallback';
  format: 'kdump-compressed' | 'elf';
  compression: 'zlib' | 'lzo' | 'zstd' | 'none';
  variation: Omit<Variation, 'id' | 'run'>;
  sha256: string;
  bytes: number;
  console: string;
  split: 'train' | 'test';
  /** What `vaat sys` read from the dump. */
  sys: { tasks: number | null; release: string | null; panic: string | null };
  timings: { bootToPanicS: number | null; wallS: number };
  labVersion: string;
  cacheKey: string;
}

export interface Manifest {
  version: 1;
  created: string;
  entries: ManifestEntry[];
}

export interface LabOptions {
  out: string;
  kernels: string[];
  scenarios: string[] | 'all';
  runs: number;
  capture: 'kdump' | 'qmp' | 'both';
  seed: number;
  /** Where downloads, unpacked kernels and builds are cached (default <out>/.lab). */
  cache?: string;
  retries?: number;
  /** Guests run at once (default 1); each is one QEMU process. */
  jobs?: number;
  /** Guest memory for every run, instead of the drawn size (scale dumps). */
  memMiB?: number;
  log?: (s: string) => void;
  progress?: (done: number, total: number, text: string) => void;
}

export function scenarios(): Scenario[] {
  return dataJson<{ scenarios: Scenario[] }>('datasets/lab/scenarios.json').scenarios;
}

/** A small deterministic PRNG (mulberry32) so a seed reproduces every variation. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash32(s: string): number {
  return parseInt(crypto.createHash('sha256').update(s).digest('hex').slice(0, 8), 16);
}

/** The variation of run `r` of a scenario: everything derived from (seed, scenario, run). */
export function variation(s: Scenario, r: number, seed: number, capture: LabOptions['capture'], index: number, memOverride?: number, release = ''): Variation {
  const vseed = hash32(`${seed}:${s.name}:${r}`);
  const rnd = prng(vseed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const cap: Variation['capture'] = capture === 'both' ? ((index + r) % 2 === 0 ? 'kdump' : 'qmp') : capture;
  const minCpus = s.minCpus ?? 1;
  const cpus = Math.max(minCpus, pick([1, 2, 2, 3, 4]));
  // kdump needs room for crashkernel=128M; QMP's ELF holds all of memory, so its guests stay small
  // (makedumpfile -d 31 keeps a 2 GiB guest's dump small; the 8 GiB ones are bench/scale.mjs's).
  const drawnMem = cap === 'kdump' ? pick([384, 512, 1024, 2048]) : pick([256, 384, 512]);
  // A fixed size (the scale dumps of bench/scale.mjs) replaces the draw; the other draws stay the same.
  const memMiB = memOverride ?? drawnMem;
  const compression: Variation['compression'] = cap === 'kdump' ? pick(['zlib', 'lzo', 'zstd'] as const) : pick(['none', 'zlib'] as const);
  const v = {
    run: r, seed: vseed, cpus, memMiB, capture: cap, compression,
    idle: pick([0, 1, 2, 4]), busy: pick([0, 1, 2]), cgroups: pick([0, 0, 2, 5]),
    delayMs: pick([0, 250, 1000, 2000]), nr: pick([2, 2, 3, 4]), site: r % 2, sleepers: pick([0, 0, 4, 16]),
    churn: pick([0, 0, 1, 2]), fsload: pick([0, 0, 1]),
  };
  const id = `r${r}-${cpus}cpu-${memMiB}m-${cap}-${compression}-i${v.idle}b${v.busy}c${v.cgroups}k${v.sleepers}f${v.churn}${v.fsload}-d${v.delayMs}-n${v.nr}s${v.site}`;
  return { id, ...v, names: drawNames(s, vseed, release) };
}

/**
 * The names of one run, drawn from datasets/lab/names.json with their own stream (so adding a
 * pool does not move the other draws): distinct functions, distinct thread names, two different
 * mutexes. Every scenario draws from the same pools, so a name says nothing about the label.
 */
export function drawNames(s: Scenario, vseed: number, release = ''): LabNames {
  const pools = dataJson<NamePools>('datasets/lab/names.json');
  // The kernel is in the seed: run r of a scenario on two kernels shares its other draws, but
  // sharing its names would let a cross-kernel query find its twin by name alone.
  const rnd = prng(hash32(`names:${vseed}:${release}`));
  const distinct = (xs: string[], n: number): string[] => {
    const left = [...xs];
    const out: string[] = [];
    for (let i = 0; i < n && left.length; i++) out.push(left.splice(Math.floor(rnd() * left.length), 1)[0]!);
    return out;
  };
  const [m1, m2] = distinct(pools.mutexes, 2);
  const lock = s.lockType === 'rwsem' ? distinct(pools.rwsems, 1)[0]! : s.lockType === 'spinlock' ? distinct(pools.spinlocks, 1)[0]! : m1!;
  const [fn, fn2, fn3] = distinct(pools.functions, 3);
  const [comm, comm2, comm3] = distinct(pools.comms, 3);
  return { lock, lock2: m2!, fn: fn!, fn2: fn2!, fn3: fn3!, comm: comm!, comm2: comm2!, comm3: comm3!, cgroup: distinct(pools.cgroups, 1)[0]! };
}

function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let n: number;
  while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

/** The panic message the console shows (before the capture kernel boots). */
export function consolePanic(text: string): string | null {
  const cut = text.indexOf('LAB: capture kernel up');
  const t = cut > 0 ? text.slice(0, cut) : text;
  const p = /Kernel panic - not syncing: ([^\r\n]*)/.exec(t);
  if (p) return p[1]!.trim();
  // 6.12 prefixes the oops line with "Oops: " (its first line names the fault since 6.8).
  const o = /\]\s*(?:Oops: )?((?:BUG|watchdog: BUG|INFO: task|divide error|general protection fault|kernel BUG)[^\r\n]*)/.exec(t);
  return o ? o[1]!.trim() : null;
}

/**
 * Did the run crash the way its scenario must? The console, between the lab's trigger and the
 * capture kernel, matches the scenario's `panics` expression, and `vaat sys` read from the dump
 * the panic message the console printed. Null when it did; else why not.
 */
export function checkExpected(s: Scenario, con: string, sysPanic: string | null): string | null {
  const from = Math.max(0, con.indexOf('LAB: trigger'));
  const to = con.indexOf('LAB: capture kernel up', from);
  const shown = consolePanic(con);
  let expected: RegExp;
  try {
    expected = new RegExp(s.panics);
  } catch (e) {
    throw new LabError(`scenarios.json: ${s.name}: panics is not a regular expression (${(e as Error).message})`);
  }
  if (!expected.test(con.slice(from, to < 0 ? undefined : to))) {
    return `wrong panic: the console does not show /${s.panics}/ after the trigger (its panic: ${shown ?? 'none'})`;
  }
  if (!sysPanic) return 'vaat sys reads no panic message from the dump';
  if (shown && !sysPanic.includes(shown)) return `vaat sys reads the panic as "${sysPanic}" where the console printed "${shown}"`;
  return null;
}

/** Read the dump with `vaat sys --json`, in a separate process as any user would. */
function vaatSys(dump: string): ManifestEntry['sys'] & { error?: string } {
  const r = spawnSync(process.execPath, [path.join(packageRoot(), 'bin', 'vaat.js'), 'sys', '--json', dump], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return { tasks: null, release: null, panic: null, error: (r.stderr || r.stdout).trim().split('\n')[0] };
  const d = JSON.parse(r.stdout) as { tasks?: number | null; release?: string; panic?: string | null };
  return { tasks: d.tasks ?? null, release: d.release ?? null, panic: d.panic ?? null };
}

let validate: ((d: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null } | null = null;
export function validateManifest(m: unknown): void {
  validate ??= new Ajv({ allErrors: true, strict: true }).compile(dataJson<object>('datasets/lab/manifest.schema.json'));
  if (!validate(m)) throw new LabError(`manifest does not match its schema: ${(validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath} ${e.message}`).join('; ')}`);
}

export interface LabResult {
  manifest: Manifest;
  built: number;
  cached: number;
  failed: Array<{ id: string; reason: string }>;
}

export async function buildLab(opts: LabOptions): Promise<LabResult> {
  const out = path.resolve(opts.out);
  fs.mkdirSync(out, { recursive: true });
  const unlock = lockOut(out);
  try {
    return await buildLocked(opts, out);
  } finally {
    unlock();
  }
}

/**
 * One lab build at a time per output directory: a lock file with the builder's pid. A lock left
 * by a process that no longer runs (the lab was killed) is taken over.
 */
function lockOut(out: string): () => void {
  const file = path.join(out, '.lab.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
      if (pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new LabError(`${out} is being built by another lab (pid ${pid}); remove ${file} if that process is not a lab`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new LabError(`cannot take the lock ${file}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs are made in DIR/.staging and moved into the set only when complete and checked, so a
 * killed or failed run (QEMU died, disk full) never leaves a dump in the set. What an
 * interrupted build left there is cleared when the next build starts, after stopping any QEMU
 * it left running.
 */
function clearStaging(staging: string, log: (s: string) => void): void {
  if (!fs.existsSync(staging)) return;
  const pidfiles = fs.readdirSync(staging, { recursive: true, encoding: 'utf8' }).filter((f) => path.basename(f) === 'qemu.pid');
  for (const f of pidfiles) {
    const pid = Number.parseInt(fs.readFileSync(path.join(staging, f), 'utf8'), 10);
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    // Only a QEMU started for this very run directory.
    if (cmd.includes('qemu-system') && cmd.includes(path.join(staging, path.dirname(f)))) {
      log(`stopping QEMU ${pid} left running by an interrupted build`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
  }
  const runs = fs.readdirSync(staging, { recursive: true, encoding: 'utf8' }).filter((f) => path.basename(f) === 'console.log').length;
  log(`clearing ${runs} interrupted run(s) from ${staging}`);
  fs.rmSync(staging, { recursive: true, force: true });
}

async function buildLocked(opts: LabOptions, out: string): Promise<LabResult> {
  const log = opts.log ?? (() => undefined);
  const cache = path.resolve(opts.cache ?? path.join(out, '.lab'));
  fs.mkdirSync(cache, { recursive: true });
  const staging = path.join(out, '.staging');
  const failedLogs = path.join(out, '.failed');
  clearStaging(staging, log);
  const all = scenarios();
  const chosen = opts.scenarios === 'all' ? all : opts.scenarios.map((n) => {
    const s = all.find((x) => x.name === n);
    if (!s) throw new LabError(`unknown scenario ${n} (known: ${all.map((x) => x.name).join(', ')})`);
    return s;
  });
  ensureHostPackages(log);
  const version = labVersion();
  const manifestPath = path.join(out, 'manifest.json');
  const old: Manifest | null = fs.existsSync(manifestPath) ? (JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Manifest) : null;
  // Entries an older lab made (another module, init or scenario table) are not mixed into this set.
  const stale = (old?.entries ?? []).filter((e) => e.labVersion !== version);
  if (stale.length) log(`dropping ${stale.length} manifest entries made by another lab version`);
  const entries = new Map<string, ManifestEntry>((old?.entries ?? []).filter((e) => e.labVersion === version).map((e) => [e.id, e]));
  const failed: Array<{ id: string; reason: string }> = [];
  let built = 0;
  let cached = 0;
  const total = opts.kernels.length * chosen.length * opts.runs;
  let done = 0;
  // Every kernel is made ready first; then the runs, `jobs` guests at a time (each run has its own
  // staging directory and QMP socket; the manifest is written by this one process).
  const runs: Array<{ k: LabKernel; accel: Accel; initrd: string; s: Scenario; si: number; r: number }> = [];
  for (const kname of opts.kernels) {
    const k: LabKernel = prepareKernel(kname, cache, log);
    // Probed with the kernel the guests boot (a boot sector alone runs where Linux does not).
    const accel = await chooseAccel(cache, { notice: log, kernel: k.vmlinuz });
    log(`guests run under ${accel.toUpperCase()}`);
    const ko = buildModule(k, cache, log);
    const initrd = buildInitramfs(k, ko, cache, log);
    for (const [si, s] of chosen.entries()) for (let r = 0; r < opts.runs; r++) runs.push({ k, accel, initrd: initrd.path, s, si, r });
  }
  const one = async ({ k, accel, initrd, s, si, r }: (typeof runs)[number]): Promise<void> => {
    const v = variation(s, r, opts.seed, opts.capture, si, opts.memMiB, k.release);
    const id = `${k.release}/${s.name}/${v.id}`;
    const cacheKey = crypto.createHash('sha256').update(JSON.stringify({ release: k.release, dumpLevel: k.dumpLevel, scenario: s.name, v, version })).digest('hex').slice(0, 16);
    const prev = entries.get(id);
    if (prev && prev.cacheKey === cacheKey && fs.existsSync(path.join(out, prev.path))) {
      // Cached, but held to the scenario's current label and expected panic.
      const con = fs.readFileSync(path.join(out, prev.console), 'latin1');
      const problem = checkExpected(s, con, prev.sys.panic);
      if (!problem) {
        entries.set(id, { ...prev, label: s.label, panic: consolePanic(con) });
        cached++;
        opts.progress?.(++done, total, `${id} cached`);
        return;
      }
      log(`${id}: the cached run fails its check now (${problem}): making it again`);
    }
    const dir = path.join(out, k.release, s.name, v.id);
    const work = path.join(staging, k.release, s.name, v.id);
    const failedDir = path.join(failedLogs, k.release, s.name, v.id);
    fs.rmSync(failedDir, { recursive: true, force: true });
    if (prev) {
      // Its dump is about to be replaced: it leaves the set first.
      entries.delete(id);
      writeManifest(manifestPath, [...entries.values()]);
    }
    let res: RunResult | null = null;
    let sys: ReturnType<typeof vaatSys> | null = null;
    let problem: string | null = null;
    // A run that failed, or crashed otherwise than its scenario must, is made once more, then reported.
    for (let attempt = 0; attempt <= (opts.retries ?? 1); attempt++) {
      log(`${id}: boot ${attempt ? `(retry ${attempt})` : ''}`);
      res = await runScenario(k, initrd, s.name, v, s.timeout, work, accel);
      sys = res.ok && res.dump ? vaatSys(res.dump) : null;
      problem = !res.ok || !res.dump || !res.format || !sys ? (res.reason ?? 'no dump')
        : sys.error ? `vaat sys cannot read the dump: ${sys.error}`
        : checkExpected(s, fs.readFileSync(res.console, 'latin1'), sys.panic);
      if (!problem) break;
      log(`${id}: ${problem}`);
    }
    if (problem || !res?.dump || !res.format || !sys) {
      // The logs are kept for a look, the dump is not: nothing half-made stays beside the set.
      keepFailedLogs(work, failedDir);
      failed.push({ id, reason: `${problem} (logs in ${path.relative(out, failedDir)})` });
      opts.progress?.(++done, total, `${id} FAILED: ${problem}`);
      return;
    }
    const con = fs.readFileSync(res.console, 'latin1');
    const { error: _e, ...sysOk } = sys as typeof sys & { error?: string };
    const entry: ManifestEntry = {
      id,
      path: path.relative(out, path.join(dir, path.basename(res.dump))),
      label: s.label,
      scenario: s.name,
      panic: consolePanic(con),
      kernel: k.release,
      capture: res.capture,
      format: res.format,
      compression: res.format === 'elf' ? 'none' : res.capture === 'kdump' ? v.compression : 'zlib',
      variation: { seed: v.seed, cpus: v.cpus, memMiB: v.memMiB, capture: v.capture, compression: v.compression, idle: v.idle, busy: v.busy, cgroups: v.cgroups, sleepers: v.sleepers, churn: v.churn, fsload: v.fsload, delayMs: v.delayMs, nr: v.nr, site: v.site, names: v.names },
      sha256: sha256File(res.dump),
      bytes: fs.statSync(res.dump).size,
      console: path.relative(out, path.join(dir, path.basename(res.console))),
      // A fifth of the seeds are held out for testing, by seed so it never depends on order.
      split: v.seed % 5 === 0 ? 'test' : 'train',
      sys: sysOk,
      timings: { bootToPanicS: res.bootToPanicS, wallS: Math.round(res.wallS * 10) / 10 },
      labVersion: version,
      cacheKey,
    };
    fs.writeFileSync(path.join(work, 'meta.json'), JSON.stringify(entry, null, 1) + '\n');
    // The commit point: the complete run directory moves into the set, then the manifest names it.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.renameSync(work, dir);
    entries.set(id, entry);
    built++;
    opts.progress?.(++done, total, `${id} ok ${entry.timings.wallS}s ${(entry.bytes / 1048576).toFixed(1)} MiB`);
    writeManifest(manifestPath, [...entries.values()]);
  };
  let nextRun = 0;
  const worker = async (): Promise<void> => {
    while (nextRun < runs.length) await one(runs[nextRun++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs ?? 1, runs.length)) }, worker));
  const manifest = writeManifest(manifestPath, [...entries.values()]);
  fs.rmSync(staging, { recursive: true, force: true });
  return { manifest, built, cached, failed };
}

function keepFailedLogs(work: string, failedDir: string): void {
  if (!fs.existsSync(work)) return;
  for (const f of fs.readdirSync(work)) if (/^vmcore|\.raw$|\.flat$/.test(f)) fs.rmSync(path.join(work, f), { force: true });
  fs.mkdirSync(path.dirname(failedDir), { recursive: true });
  fs.renameSync(work, failedDir);
}

/** Written aside and renamed over the old one: a killed lab leaves the previous manifest, never half of one. */
function writeManifest(file: string, entries: ManifestEntry[]): Manifest {
  entries.sort((a, b) => a.id.localeCompare(b.id));
  const m: Manifest = { version: 1, created: new Date().toISOString(), entries };
  validateManifest(m);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(m, null, 1) + '\n');
  fs.renameSync(tmp, file);
  return m;
}

export interface LabStats {
  dumps: number;
  labels: number;
  byCapture: Record<string, number>;
  bytes: number;
  groups: Array<{ kernel: string; capture: string; format: string; compression: string; dumps: number; wallS: [number, number, number]; mib: [number, number, number] }>;
}

/** What a set holds, per kernel × capture path × format × compression: counts, wall time and size per dump. */
export function labStats(m: Manifest): LabStats {
  const groups = new Map<string, ManifestEntry[]>();
  for (const e of m.entries) {
    const k = [e.kernel, e.capture, e.format, e.compression].join('\0');
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  const spread = (xs: number[]): [number, number, number] => [Math.min(...xs), Math.max(...xs), xs.reduce((a, b) => a + b, 0) / xs.length];
  const byCapture: Record<string, number> = {};
  for (const e of m.entries) byCapture[e.capture] = (byCapture[e.capture] ?? 0) + 1;
  return {
    dumps: m.entries.length,
    labels: new Set(m.entries.map((e) => e.label)).size,
    byCapture,
    bytes: m.entries.reduce((a, e) => a + e.bytes, 0),
    groups: [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, es]) => {
      const [kernel, capture, format, compression] = k.split('\0') as [string, string, string, string];
      return { kernel, capture, format, compression, dumps: es.length, wallS: spread(es.map((e) => e.timings.wallS)), mib: spread(es.map((e) => e.bytes / 1048576)) };
    }),
  };
}

export function renderLabStats(s: LabStats): string {
  const f = (x: [number, number, number]) => `${x[0].toFixed(1)}–${x[1].toFixed(1)}, ${x[2].toFixed(1)}`;
  const caps = Object.entries(s.byCapture).map(([c, n]) => `${n} ${c}`).join(', ');
  return [
    `${s.dumps} dumps, ${s.labels} root-cause labels (${caps}), ${(s.bytes / 2 ** 30).toFixed(1)} GiB`,
    '',
    '| kernel | capture | format | compression | dumps | wall s per dump (min–max, mean) | size MiB (min–max, mean) |',
    '|---|---|---|---|---|---|---|',
    ...s.groups.map((g) => `| ${g.kernel} | ${g.capture} | ${g.format} | ${g.compression} | ${g.dumps} | ${f(g.wallS)} | ${f(g.mib)} |`),
    '',
  ].join('\n');
}
