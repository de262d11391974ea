// Where report files go and what they look like: <out>/<name>.txt and
// .json per dump, .html on request, and an index of all dumps.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProgramOptions } from '../kernel/program.js';
import { toJson } from '../util/json.js';
import { writeFileAtomic } from '../util/atomicfile.js';
import { reportText, type DumpReport } from './sections.js';
import { htmlPage } from './html/page.js';

export interface Job {
  id: number;
  path: string;
  name: string;
  out: string;
  html: boolean;
  options: ProgramOptions;
}

export interface Summary {
  dump: string;
  kernel: string | null;
  panic: string | null;
  seconds: number;
  problems: number;
  error: string | null;
}

export function fileBase(job: Job): string {
  return path.join(job.out, job.name.replace(/[\/\\]/g, '_'));
}


export function writeDumpReport(job: Job, r: DumpReport): void {
  const base = fileBase(job);
  // Write then rename: an interrupted run leaves no half-written report.
  const write = writeFileAtomic;
  write(base + '.txt', reportText(r));
  write(base + '.json', toJson(r) + '\n');
  // The page is made from the same JSON document (src/report/html/assets/app.js renders it).
  if (job.html) write(base + '.html', htmlPage('dump', r.dump, JSON.parse(toJson(r))));
}

export function summaryTable(rows: Summary[]): string {
  const head = ['DUMP', 'KERNEL', 'PANIC', 'TIME', 'PROBLEMS'];
  const body = rows.map((s) => [s.dump, s.kernel ?? '-', s.error ? `UNREADABLE: ${s.error}` : s.panic ?? '-', `${s.seconds.toFixed(2)}s`, String(s.problems)]);
  const w = head.map((h, i) => Math.min(i === 2 ? 70 : 60, Math.max(h.length, ...body.map((r) => r[i]!.length))));
  const cell = (c: string, i: number) => (c.length > w[i]! ? c.slice(0, w[i]! - 1) + '…' : c.padEnd(w[i]!));
  return [head, ...body].map((r) => r.map(cell).join('  ').trimEnd()).join('\n') + '\n';
}

export function writeIndex(out: string, rows: Summary[], html: boolean): void {
  fs.writeFileSync(path.join(out, 'summary.txt'), summaryTable(rows));
  fs.writeFileSync(path.join(out, 'summary.json'), toJson(rows) + '\n');
  if (html) fs.writeFileSync(path.join(out, 'index.html'), htmlPage('index', `vaat report: ${rows.length} dumps`, { rows: rows.map((r) => ({ ...r, file: r.dump.replace(/[\/\\]/g, '_') })) }));
}
