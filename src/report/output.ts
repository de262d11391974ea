// Where report files go and what they look like: <out>/<name>.txt and
// .json per dump, .html on request, and an index of all dumps.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProgramOptions } from '../kernel/program.js';
import { toJson } from '../util/json.js';
import { reportText, type DumpReport } from './sections.js';

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

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function writeDumpReport(job: Job, r: DumpReport): void {
  const base = fileBase(job);
  // Write then rename: an interrupted run leaves no half-written report.
  const write = (file: string, text: string) => {
    fs.writeFileSync(file + '.part', text);
    fs.renameSync(file + '.part', file);
  };
  write(base + '.txt', reportText(r));
  write(base + '.json', toJson(r) + '\n');
  if (job.html) {
    const body = r.error
      ? `<p class="err">${esc(r.error)}</p>`
      : r.sections.map((s) => `<h2 id="${s.name}">${esc(s.command)}</h2><pre>${esc(s.text)}</pre>`).join('\n');
    write(base + '.html', `<!doctype html><meta charset="utf-8"><title>${esc(r.dump)}</title><style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em;overflow:auto}.err{color:#b00}</style><h1>${esc(r.dump)}</h1><p>${esc(r.kernel ?? '')} — ${esc(r.panic ?? 'no panic message')}</p>${body}\n`);
  }
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
  if (html) {
    const tr = rows.map((s) => {
      const f = s.dump.replace(/[\/\\]/g, '_');
      return `<tr><td><a href="${esc(f)}.html">${esc(s.dump)}</a></td><td>${esc(s.kernel ?? '-')}</td><td${s.error ? ' class="err"' : ''}>${esc(s.error ? `unreadable: ${s.error}` : s.panic ?? '-')}</td><td>${s.seconds.toFixed(2)} s</td><td>${s.problems}</td></tr>`;
    }).join('\n');
    fs.writeFileSync(path.join(out, 'index.html'), `<!doctype html><meta charset="utf-8"><title>vaat report</title><style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left;border-bottom:1px solid #ddd}.err{color:#b00}</style><h1>vaat report: ${rows.length} dumps</h1><table><tr><th>dump</th><th>kernel</th><th>panic</th><th>time</th><th>problems</th></tr>\n${tr}</table>\n`);
  }
}
