// A small QMP client: QEMU's JSON machine protocol over a unix socket, one
// JSON object per line. Enough to wait for GUEST_PANICKED, ask for
// dump-guest-memory and wait for DUMP_COMPLETED, stop and quit.

import * as net from 'node:net';
import * as fs from 'node:fs';
import { LabError } from './host.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class Qmp {
  private sock: net.Socket | null = null;
  private buf = '';
  private pending: Pending[] = [];
  readonly events: Array<{ event: string; data?: unknown; timestamp?: unknown }> = [];
  private waiters: Array<{ name: string; resolve: (e: unknown) => void }> = [];
  closed = false;

  /** Connect to the socket QEMU listens on, retrying until it appears. */
  async connect(path: string, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (fs.existsSync(path)) {
          await this.open(path);
          break;
        }
      } catch (e) {
        if (Date.now() > until) throw e;
      }
      if (Date.now() > until) throw new LabError(`QMP socket ${path} did not appear in ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.execute('qmp_capabilities');
  }

  private open(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(path);
      let greeted = false;
      s.setEncoding('utf8');
      s.on('error', (e) => {
        if (!greeted) reject(e);
        this.failAll(e);
      });
      s.on('close', () => {
        this.closed = true;
        this.failAll(new LabError('QMP connection closed'));
      });
      s.on('data', (chunk: string) => {
        this.buf += chunk;
        let nl: number;
        while ((nl = this.buf.indexOf('\n')) >= 0) {
          const line = this.buf.slice(0, nl).trim();
          this.buf = this.buf.slice(nl + 1);
          if (!line) continue;
          let msg: Record<string, unknown>;
          try {
            msg = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue;
          }
          if ('QMP' in msg) {
            greeted = true;
            this.sock = s;
            resolve();
          } else if ('event' in msg) {
            const ev = msg as { event: string; data?: unknown };
            this.events.push(ev);
            for (const w of this.waiters.filter((x) => x.name === ev.event)) w.resolve(ev);
            this.waiters = this.waiters.filter((x) => x.name !== ev.event);
          } else if ('return' in msg || 'error' in msg) {
            const p = this.pending.shift();
            if (!p) continue;
            if ('error' in msg) p.reject(new LabError(`QMP error: ${JSON.stringify(msg.error)}`));
            else p.resolve(msg.return);
          }
        }
      });
    });
  }

  private failAll(e: Error): void {
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (!this.sock && command !== 'qmp_capabilities') return Promise.reject(new LabError('QMP not connected'));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.sock!.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  /** Resolve with the first `name` event (one already seen counts), or null after timeoutMs. */
  waitEvent(name: string, timeoutMs: number): Promise<unknown | null> {
    const seen = this.events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        resolve(null);
      }, timeoutMs);
      const done = (e: unknown) => {
        clearTimeout(t);
        resolve(e);
      };
      this.waiters.push({ name, resolve: done });
    });
  }

  close(): void {
    this.sock?.destroy();
    this.sock = null;
  }
}
