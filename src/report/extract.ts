// Turn one input (a dump, or a console log) into its signature and the
// console text its panic part was read from — the unit of work of `ingest`,
// run in worker threads. Errors come back as one line, never thrown across.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProgramOptions } from '../kernel/program.js';
import type { Signature } from '../../features/signature.js';

export interface ExtractJob {
  path: string;
  /** "dump" or "log" (console text). */
  as: 'dump' | 'log';
  program: ProgramOptions;
}

export type ExtractResult = { ok: true; signature: Signature; logText: string | null; seconds: number } | { ok: false; error: string; seconds: number };

/** Largest console log read (a longer file keeps its last bytes: the crash is at the end). */
const MAX_LOG = 64 << 20;

export async function extract(job: ExtractJob): Promise<ExtractResult> {
  const t0 = performance.now();
  const secs = () => (performance.now() - t0) / 1000;
  try {
    const { signatureAndLogFromDump, signatureFromConsole } = await import('../../features/signature.js');
    if (job.as === 'log') {
      const st = fs.statSync(job.path);
      if (!st.isFile()) throw new Error('not a regular file');
      const fd = fs.openSync(job.path, 'r');
      let text: string;
      try {
        const n = Math.min(st.size, MAX_LOG);
        const buf = Buffer.alloc(n);
        fs.readSync(fd, buf, 0, n, st.size - n);
        text = buf.toString('latin1');
      } finally {
        fs.closeSync(fd);
      }
      return { ok: true, signature: signatureFromConsole(text, path.basename(job.path)), logText: text, seconds: secs() };
    }
    const { Program } = await import('../kernel/program.js');
    const { materialize } = await import('../util/zst.js');
    const prog = Program.open(materialize(job.path), { ...job.program, displayPath: job.path });
    try {
      const r = signatureAndLogFromDump(prog, job.path);
      return { ok: true, signature: r.signature, logText: r.logText, seconds: secs() };
    } finally {
      prog.close();
    }
  } catch (e) {
    return { ok: false, error: ((e as Error)?.message ?? String(e)).split('\n')[0]!, seconds: secs() };
  }
}
