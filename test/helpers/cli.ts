// Run the vaat command line as a user would, in a child process.

import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { packageRoot } from '../../src/util/datafile.js';

export const VAAT = path.join(packageRoot(), 'bin', 'vaat.js');

export function vaat(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [VAAT, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000, env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20 });
  assert.notEqual(r.signal, 'SIGTERM', `vaat ${args.join(' ')} hung`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Start vaat in the background: its output as it comes, and the process to kill. */
export function vaatAsync(args: string[]) {
  const child = spawn(process.execPath, [VAAT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return { child, done, out: () => out, err: () => err };
}
