// Shared helpers for the benchmark scripts: time whole processes (wall
// clock, peak RSS via GNU time), find the fixtures and the reference tools.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED = process.env.VAAT_SHARED ?? resolve(ROOT, '..', 'shared');
export const KDIR = join(SHARED, 'vmcores', '6.1.0-56-amd64');
export const CACHE = join(ROOT, 'bench', '.cache');
export const CRASH = process.env.CRASH ?? join(CACHE, 'crash');
export const VMLINUX = process.env.VMLINUX ?? join(CACHE, 'vmlinux-6.1.0-56-amd64');
export const VAAT = join(ROOT, 'bin', 'vaat.js');

export async function fixtures() {
  const { materialize } = await import(join(ROOT, 'dist', 'src', 'util', 'zst.js'));
  return readdirSync(KDIR)
    .filter((d) => existsSync(join(KDIR, d, 'meta.json')))
    .sort()
    .map((name) => {
      const meta = JSON.parse(readFileSync(join(KDIR, name, 'meta.json'), 'utf8'));
      return { name, meta, dump: materialize(join(KDIR, name, meta.dump)) };
    });
}

/** Run a command `runs` times; median wall seconds and the largest peak RSS (MB). */
export function timeProcess(cmd, args, { runs = 3, input, beforeEach } = {}) {
  const walls = [];
  let rss = 0;
  let ok = true;
  let err = '';
  for (let i = 0; i < runs; i++) {
    beforeEach?.();
    const r = spawnSync('/usr/bin/time', ['-f', '__TIME__ %e %M', cmd, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
    const m = /__TIME__ ([\d.]+) (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`GNU time output missing for ${cmd}: ${r.stderr.slice(-300)}`);
    if (r.status !== 0) {
      ok = false;
      err = r.stderr.split('\n').find((l) => /\w: \w/.test(l) && !/__TIME__|Command exited/.test(l)) ?? 'failed';
    }
    walls.push(Number(m[1]));
    rss = Math.max(rss, Number(m[2]) / 1024);
  }
  walls.sort((a, b) => a - b);
  return { wall: walls[Math.floor(walls.length / 2)], rss, ok, err, stdout: '' };
}

export function haveCrash() {
  return existsSync(CRASH) && existsSync(VMLINUX);
}

export function fmt(n, d = 2) {
  return n === undefined || n === null || Number.isNaN(n) ? 'n/a' : n.toFixed(d);
}

export function table(head, rows) {
  const line = (r) => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

// CPU accounting from /proc, for telling "the machine was full" from "a part
// waited": clock ticks of the whole machine (busy and idle) and of every
// process, taken before and after a run.
const TICK = 100; // USER_HZ: Linux reports /proc times in 1/100 s on every architecture it runs on here.

/** A snapshot of the machine's and every process's CPU ticks. */
export function cpuSnapshot() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy; steal is time another guest took.
  const idle = f[3] + (f[4] ?? 0);
  const steal = f[7] ?? 0;
  const busy = f.slice(0, 8).reduce((a, b) => a + b, 0) - idle - steal;
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = s.lastIndexOf(')');
      const comm = s.slice(s.indexOf('(') + 1, close);
      const rest = s.slice(close + 2).split(' ');
      procs.set(Number(d), { comm, ticks: Number(rest[11]) + Number(rest[12]) });
    } catch { /* gone meanwhile */ }
  }
  return { busy, idle, steal, procs };
}

/**
 * CPU seconds spent between two snapshots: the machine's busy, idle and stolen
 * time, and per group of processes (`group(pid, comm)` names the group; a
 * process that ended between the snapshots is not counted, so take the second
 * before stopping what is measured).
 */
export function cpuBetween(a, b, group) {
  const by = {};
  for (const [pid, p] of b.procs) {
    const before = a.procs.get(pid);
    const t = p.ticks - (before && before.comm === p.comm ? before.ticks : 0);
    if (t <= 0) continue;
    const g = group(pid, p.comm);
    by[g] = (by[g] ?? 0) + t / TICK;
  }
  return { busy: (b.busy - a.busy) / TICK, idle: (b.idle - a.idle) / TICK, steal: (b.steal - a.steal) / TICK, by };
}

/**
 * Follow a running process's threads (polled every 100 ms) until it exits:
 * CPU seconds of its main thread and of all its other threads (worker threads,
 * V8's garbage-collection helpers, libuv's pool) — what tells a saturated main
 * thread from busy extraction threads.
 * The last poll before exit is what counts (a tenth of a second may be missed).
 */
export function watchThreads(pid) {
  const last = new Map();
  const poll = () => {
    let tids;
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { return; }
    for (const t of tids) {
      try {
        const s = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const close = s.lastIndexOf(')');
        const rest = s.slice(close + 2).split(' ');
        last.set(Number(t), { comm: s.slice(s.indexOf('(') + 1, close), ticks: Number(rest[11]) + Number(rest[12]) });
      } catch { /* ended */ }
    }
  };
  poll();
  const timer = setInterval(poll, 100);
  return () => {
    clearInterval(timer);
    // A last look: a process watching itself through synchronous work gets no poll in between.
    poll();
    const by = {};
    for (const [tid, t] of last) {
      // Node names no thread: the main thread is the one whose id is the process's.
      const g = tid === pid ? 'main thread' : 'other threads';
      by[g] = (by[g] ?? 0) + t.ticks / TICK;
    }
    return by;
  };
}

/** Two CPU-bound processes against one, measured now (bench/cores.mjs): the most any two-way split can gain here at this moment. */
export function coresCeiling(seconds = 3) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'cores.mjs'), '--seconds', String(seconds)], { encoding: 'utf8' });
  const m = /([\d.]+)× one/.exec(r.stdout);
  return m ? Number(m[1]) : null;
}

/** Which hnswlib-node addon a run used: the flags scripts/hnsw-native.mjs built it with, or npm's default build. */
export async function hnswAddonBuild() {
  const { addonFiles } = await import(join(ROOT, 'dist', 'src', 'similarity', 'hnsw-addon.js'));
  try {
    return JSON.parse(readFileSync(addonFiles().note, 'utf8')).flags.join(' ');
  } catch {
    return 'default';
  }
}

/**
 * Run bench/match-client.cjs once: `clients` kept-alive connections POST /v1/match to `urls` (one
 * or more, comma-joined) with the texts of `textsFile`, `requests` in all, back to back (rate 0) or
 * paced at `rate` a second. `onReady` (async) runs after the clients' unmeasured first requests and
 * before the measured ones. Resolves to the client's JSON: {lat, at, statuses, seconds, startedAt}.
 */
export function runMatchClients({ urls, textsFile, clients, requests, rate = 0, onReady = async () => {} }) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [join(ROOT, 'bench', 'match-client.cjs'), urls, textsFile, String(clients), String(requests), String(rate)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let ready = false;
    c.stdout.on('data', (b) => {
      out += b;
      if (!ready && out.startsWith('ready\n')) {
        ready = true;
        out = out.slice(6);
        onReady().then(() => c.stdin.end('go\n'), reject);
      }
    });
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited ${code}`))));
  });
}
