// `vaat fleet up` as a person runs it: the banner's curl works as soon as the banner shows, Ctrl-C
// stops everything, and a fleet that cannot start (its port taken) leaves nothing running.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { VAAT } from '../helpers/cli.js';
import { KERNEL_DIR } from '../helpers/fixtures.js';
import { ensurePackages, freePort } from '../../src/fleet/local.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('vaat-fleet-up-');

/** Processes whose command line names `dir` (the fleet's databases live there). */
function runningIn(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', dir], { encoding: 'utf8' }).split('\n').filter((l) => l && !l.includes('pgrep'));
  } catch {
    return [];
  }
}

function start(dir: string, port: number) {
  const p = spawn(process.execPath, [VAAT, 'fleet', 'up', '--dir', dir, '--port', String(port), '--workers', '1', '--root', KERNEL_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((res) => p.once('exit', (c) => res(c)));
  return { p, exited, out: () => out, err: () => err };
}

test('vaat fleet up: the service answers when the banner shows; Ctrl-C stops the service, the worker and both databases', async (t) => {
  ensurePackages();
  const dir = path.join(tmp, 'up');
  const port = await freePort();
  const f = start(dir, port);
  // A failed assertion must not leave the fleet running.
  t.after(() => {
    if (f.p.exitCode === null) f.p.kill('SIGINT');
  });
  const t0 = Date.now();
  while (!f.out().includes('Ctrl-C stops everything.')) {
    assert.ok(Date.now() - t0 < 120_000, `no banner: ${f.err()}`);
    assert.equal(f.p.exitCode, null, `fleet up exited: ${f.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const h = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(h.status, 200);
  assert.deepEqual(await h.json(), { postgres: true, redis: true, signatures: 0 });
  assert.ok(runningIn(dir).length >= 2, 'Redis and PostgreSQL run in the fleet directory');
  f.p.kill('SIGINT');
  assert.equal(await f.exited, 0);
  assert.deepEqual(runningIn(dir), []);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
});

test('vaat fleet up on a port already taken: it fails, says why, and leaves no database running', async () => {
  ensurePackages();
  const dir = path.join(tmp, 'taken');
  const taken = net.createServer(() => {});
  const port = await new Promise<number>((res) => taken.listen(0, '127.0.0.1', () => res((taken.address() as net.AddressInfo).port)));
  try {
    const f = start(dir, port);
    const code = await Promise.race([f.exited, new Promise<string>((res) => setTimeout(() => res('still running after 60 s'), 60_000).unref())]);
    if (code === 'still running after 60 s') f.p.kill('SIGINT');
    assert.notEqual(code, 0);
    assert.match(f.err(), /^vaat: serve: listen EADDRINUSE: address already in use/m);
    assert.match(f.err(), /^vaat: fleet up: vaat serve exited \(1\) before it listened$/m);
    assert.doesNotMatch(f.err(), /internal error/);
    assert.deepEqual(runningIn(dir), []);
  } finally {
    taken.close();
  }
});
