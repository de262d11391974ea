// `log`: the kernel log in crash's layout, "[    5.688612] text", with the
// lines of a multi-line record indented under the text.

import type { Program } from '../kernel/program.js';
import { formatTimestamp, readLog, type LogRecord } from '../kernel/printk.js';

export interface LogOptions {
  /** -t: no timestamps. */
  noTime?: boolean;
  /** -m: show the log level as <N>. */
  level?: boolean;
  /** Only the last N records. */
  tail?: number;
  /** Decode levels/facility/flags (needs BTF); default: when -m or JSON asks for them. */
  levels?: boolean;
}

export interface LogData {
  format: string;
  records: Array<LogRecord & { time: number }>;
  problems: string[];
}

export function collectLog(prog: Program, opts: LogOptions = {}): LogData {
  const r = readLog(prog, { levels: opts.levels ?? !!opts.level });
  let recs = r.records;
  if (opts.tail !== undefined) recs = recs.slice(Math.max(0, recs.length - opts.tail));
  return { format: r.format, records: recs.map((x) => ({ ...x, time: Number(x.tsNsec) / 1e9 })), problems: r.problems };
}

export function renderLogRecord(r: LogRecord, opts: LogOptions = {}): string {
  let prefix = opts.noTime ? '' : formatTimestamp(r.tsNsec) + ' ';
  if (opts.level && r.level !== null) prefix += `<${r.level}>`;
  const indent = ' '.repeat(prefix.length);
  return r.text.split('\n').map((l, i) => (i === 0 ? prefix : indent) + l).join('\n');
}

export function renderLog(d: LogData, opts: LogOptions = {}): string {
  return d.records.map((r) => renderLogRecord(r, opts) + '\n').join('');
}
