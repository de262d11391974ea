// `report`: run the analysis commands over one dump or whole directories of
// them, in parallel worker threads, with progress; one unreadable dump is
// reported and does not stop the others; a summary table at the end.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ProgramOptions } from '../kernel/program.js';
import { materialize } from '../util/zst.js';
import { writeIndex, writeDumpReport, type Job, type Summary } from './output.js';
import { reportDump } from './sections.js';

const MAGICS = [Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.from('KDUMP   '), Buffer.from('DISKDUMP'), Buffer.from('makedumpfile')];
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Does the file start like a dump (or is it a zstd-compressed vmcore*)? Checks the first bytes only. */
export function looksLikeDump(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(64);
    const n = fs.readSync(fd, head, 0, 64, 0);
    if (n >= 4 && head.subarray(0, 4).equals(ZSTD)) return /vmcore|dump/i.test(path.basename(file));
    if (n >= 4 && head.subarray(0, 4).equals(MAGICS[0]!)) {
      // Only ELF cores (e_type 4), not binaries that happen to sit beside the dumps.
      return n >= 18 && head.readUInt16LE(16) === 4;
    }
    return MAGICS.slice(1).some((m) => n >= m.length && head.subarray(0, m.length).equals(m));
  } catch {
    return false;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Dumps named on the command line: files as given, directories searched recursively for files `accept` takes. */
export function findDumps(inputs: string[], accept: (file: string) => boolean = looksLikeDump): Array<{ path: string; name: string }> {
  const out: Array<{ path: string; name: string }> = [];
  for (const input of inputs) {
    const st = fs.statSync(input);
    if (st.isFile()) {
      out.push({ path: input, name: path.basename(input) });
      continue;
    }
    // Symbolic links are followed (a directory of links to dumps is a common way to pick a set);
    // a directory reached twice (a link loop) is walked once.
    const seen = new Set<string>();
    const walk = (dir: string) => {
      let real: string;
      try {
        real = fs.realpathSync(dir);
      } catch {
        return;
      }
      if (seen.has(real)) return;
      seen.add(real);
      for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = path.join(dir, e.name);
        let isDir = e.isDirectory();
        let isFile = e.isFile();
        if (e.isSymbolicLink()) {
          try {
            const st = fs.statSync(p);
            isDir = st.isDirectory();
            isFile = st.isFile();
          } catch {
            continue; // a dangling link
          }
        }
        if (isDir) walk(p);
        else if (isFile && accept(p)) out.push({ path: p, name: path.relative(input, p) });
      }
    };
    walk(input);
  }
  return out;
}

export interface BatchOptions {
  out: string;
  jobs?: number;
  html?: boolean;
  program?: ProgramOptions;
  /** Per-dump time limit in seconds; a dump that takes longer is reported as such. */
  timeout?: number;
  progress?: (done: number, total: number, last: Summary) => void;
}

export async function runBatch(inputs: string[], opts: BatchOptions): Promise<Summary[]> {
  const dumps = findDumps(inputs);
  fs.mkdirSync(opts.out, { recursive: true });
  const n = Math.max(1, Math.min(opts.jobs ?? os.availableParallelism(), dumps.length || 1));
  const results: Summary[] = new Array(dumps.length);
  let next = 0;
  let done = 0;
  const workerUrl = new URL('./worker.js', import.meta.url);
  const runOne = (w: Worker, idx: number): Promise<Worker> =>
    new Promise((resolve) => {
      const d = dumps[idx]!;
      let settled = false;
      const finish = (s: Summary, worker: Worker) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        results[idx] = s;
        done++;
        opts.progress?.(done, dumps.length, s);
        resolve(worker);
      };
      const timer = setTimeout(() => {
        // A dump that never finishes: stop its worker, start a fresh one.
        void w.terminate();
        finish({ dump: d.name, kernel: null, panic: null, seconds: opts.timeout ?? 0, problems: 0, error: `timed out after ${opts.timeout} s` }, new Worker(workerUrl));
      }, (opts.timeout ?? 900) * 1000);
      const onMsg = (m: { id: number; summary: Summary }) => {
        if (m.id !== idx) return;
        w.off('message', onMsg);
        w.off('error', onErr);
        finish(m.summary, w);
      };
      const onErr = (e: Error) => {
        w.off('message', onMsg);
        finish({ dump: d.name, kernel: null, panic: null, seconds: 0, problems: 0, error: `worker failed: ${e.message}` }, new Worker(workerUrl));
      };
      w.on('message', onMsg);
      w.once('error', onErr);
      let p = d.path;
      try {
        p = materialize(d.path);
      } catch (e) {
        w.off('message', onMsg);
        w.off('error', onErr);
        finish({ dump: d.name, kernel: null, panic: null, seconds: 0, problems: 0, error: (e as Error).message }, w);
        return;
      }
      const job: Job = { id: idx, path: p, name: d.name, out: opts.out, html: !!opts.html, options: opts.program ?? {} };
      w.postMessage(job);
    });
  if (dumps.length === 1) {
    // One dump: no worker thread to start (its module loading costs more than it saves).
    const d = dumps[0]!;
    const t0 = performance.now();
    let s: Summary;
    try {
      const job: Job = { id: 0, path: materialize(d.path), name: d.name, out: opts.out, html: !!opts.html, options: opts.program ?? {} };
      const r = reportDump(job.path, job.name, job.options);
      writeDumpReport(job, r);
      s = { dump: r.dump, kernel: r.kernel, panic: r.panic, seconds: r.seconds, problems: r.problems, error: r.error ?? null };
    } catch (e) {
      s = { dump: d.name, kernel: null, panic: null, seconds: (performance.now() - t0) / 1000, problems: 0, error: (e as Error).message };
    }
    results[0] = s;
    opts.progress?.(1, 1, s);
    writeIndex(opts.out, results, !!opts.html);
    return results;
  }
  const lanes = Array.from({ length: n }, async () => {
    let w = new Worker(workerUrl);
    while (next < dumps.length) {
      const idx = next++;
      w = await runOne(w, idx);
    }
    await w.terminate();
  });
  await Promise.all(lanes);
  writeIndex(opts.out, results, !!opts.html);
  return results;
}
