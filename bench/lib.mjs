// Shared helpers for the benchmark scripts: time whole processes (wall
// clock, peak RSS via GNU time), find the fixtures and the reference tools.
import { spawnSync } from 'node:child_process';
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
