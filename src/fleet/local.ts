// Redis and PostgreSQL on loopback in a directory of their own: what
// `vaat fleet up` starts for trying the fleet on one machine, and what the
// fleet tests run against (real servers, no mocks). Debian's redis-server
// and postgresql-15; PostgreSQL runs as the `postgres` user (it refuses
// root). Redis keeps an append-only file, so a restart loses no
// acknowledged job.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const PG_BIN = process.env.VAAT_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const REDIS_SERVER = process.env.VAAT_REDIS_SERVER ?? '/usr/bin/redis-server';

export class LocalServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalServiceError';
  }
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port: number, ms: number, child: ChildProcess, what: string, log: () => string): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new LocalServiceError(`${what} exited with ${child.exitCode}: ${log().slice(-500)}`);
    const ok = await new Promise<boolean>((res) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        res(true);
      });
      c.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LocalServiceError(`${what} did not listen on 127.0.0.1:${port} within ${ms} ms: ${log().slice(-500)}`);
}

/** Debian packages the fleet needs, installed when missing (root and apt). */
export function ensurePackages(): void {
  const missing: string[] = [];
  if (!fs.existsSync(REDIS_SERVER)) missing.push('redis-server');
  if (!fs.existsSync(path.join(PG_BIN, 'postgres'))) missing.push('postgresql-15');
  if (!missing.length) return;
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new LocalServiceError(`apt-get install ${missing.join(' ')} failed: ${(r.stderr || r.stdout).slice(-400)}`);
}

export interface Running {
  url: string;
  port: number;
  dir: string;
  pid(): number | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
}

function stopChild(child: ChildProcess | null, signal: NodeJS.Signals, ms = 20_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * `appendfsync`: `always` by default here (an acknowledged job is on disk before the answer: what the
 * restart tests rely on); deploy/redis-vaat.conf runs `everysec`.
 */
export async function startRedis(dir: string, port?: number, o: { appendfsync?: 'always' | 'everysec' } = {}): Promise<Running> {
  fs.mkdirSync(dir, { recursive: true });
  const p = port ?? (await freePort());
  let child: ChildProcess | null = null;
  let out = '';
  const start = async () => {
    out = '';
    child = spawn(REDIS_SERVER, ['--port', String(p), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', o.appendfsync ?? 'always', '--save', '', '--daemonize', 'no', '--protected-mode', 'yes', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitPort(p, 15_000, child, 'redis-server', () => out);
  };
  await start();
  const r: Running = {
    url: `redis://127.0.0.1:${p}`, port: p, dir,
    pid: () => child?.pid,
    stop: () => stopChild(child, 'SIGTERM'),
    start,
    restart: async () => {
      await r.stop();
      await start();
    },
  };
  return r;
}

/** The postgres account the servers run as when started by root (it must own their directories). */
export function postgresUser(): { uid: number; gid: number } {
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (u.status !== 0) throw new LocalServiceError('no postgres user (is postgresql-15 installed?)');
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export async function startPostgres(dir: string, port?: number): Promise<Running> {
  const p = port ?? (await freePort());
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? postgresUser() : null;
  if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
    fs.mkdirSync(data, { recursive: true });
    // The postgres user must reach its directory: a private temporary parent
    // (mkdtemp makes them 0700) gets search permission for others, nothing more.
    if (user) {
      for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
        const st = fs.statSync(d);
        if (st.uid === process.getuid!() && !(st.mode & 0o001)) fs.chmodSync(d, (st.mode & 0o7777) | 0o011);
      }
    }
    if (user) {
      fs.chownSync(dir, user.uid, user.gid);
      fs.chownSync(data, user.uid, user.gid);
    }
    const r = spawnSync(path.join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], { encoding: 'utf8', ...(user ?? {}), cwd: dir });
    if (r.status !== 0) throw new LocalServiceError(`initdb failed: ${(r.stderr || r.stdout).slice(-500)}`);
  }
  let child: ChildProcess | null = null;
  let out = '';
  const start = async () => {
    out = '';
    child = spawn(path.join(PG_BIN, 'postgres'), ['-D', data, '-p', String(p), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'shared_buffers=128MB'],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...(user ?? {}) });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitPort(p, 30_000, child, 'postgres', () => out);
    // Accepting connections, not just listening (recovery after a restart).
    const until = Date.now() + 30_000;
    for (;;) {
      const r = spawnSync(path.join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(p)], { encoding: 'utf8' });
      if (r.status === 0) break;
      if (Date.now() > until) throw new LocalServiceError(`postgres not ready: ${out.slice(-500)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  await start();
  const r: Running = {
    url: `postgres://postgres@127.0.0.1:${p}/postgres`, port: p, dir,
    pid: () => child?.pid,
    // SIGINT: fast shutdown (open transactions rolled back, clients disconnected).
    stop: () => stopChild(child, 'SIGINT'),
    start,
    restart: async () => {
      await r.stop();
      await start();
    },
  };
  return r;
}
