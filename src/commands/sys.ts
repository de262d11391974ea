// `sys`: the system summary crash prints first — kernel, dump, CPUs, crash
// time, uptime, load, tasks, identity, memory and the panic message.
// `sys -t` adds the taint bits, each with its letter and meaning.

import * as path from 'node:path';
import type { Program } from '../kernel/program.js';
import { Problems, attempt } from '../kernel/problems.js';
import { readLog } from '../kernel/printk.js';
import { cpuCounts, cpuMhz, crashTime, loadAverage, memoryBytes, uptimeSeconds, utsname } from '../helpers/system.js';
import { forEachTask } from '../helpers/tasks.js';
import { panicCpu, panicMessage, panicTask } from '../helpers/panic.js';
import { taintFlags, taintLetters, taintedMask } from '../helpers/taint.js';
import { cpuList } from '../kernel/cpumask.js';

export interface SysData {
  kernel: { release: string; symbols: string; types: string; tainted: boolean };
  dumpfile: { path: string; format: string; compression: string; partial: boolean; incomplete: boolean; dumpLevel: number | null };
  cpus: { count: number; online: number; offline: number[]; possible: string; present: string; onlineList: string } | null;
  date: { epoch: number; utc: string; source: string } | null;
  uptime: { seconds: number; text: string } | null;
  loadAverage: string[] | null;
  tasks: number | null;
  nodename: string | null;
  release: string;
  version: string | null;
  machine: string | null;
  mhz: number | null;
  memory: { bytes: number; text: string } | null;
  panic: string | null;
  panicCpu: number | null;
  panicTask: { pid: number; comm: string; task: string } | null;
  taint?: { mask: string; letters: string; flags: Array<{ bit: number; letter: string; name: string; meaning: string }> };
  problems: Problems['list'];
}

export interface SysOptions {
  taint?: boolean;
}

/** "Thu Nov 26 23:11:09 UTC 2026", as crash prints DATE. */
export function crashDate(epoch: number): string {
  const d = new Date(epoch * 1000);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => n.toString().padStart(2, '0');
  return `${day} ${mon} ${d.getUTCDate().toString().padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

/** crash's UPTIME: "[N days, ]HH:MM:SS". */
export function uptimeText(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86400);
  const p = (n: number) => n.toString().padStart(2, '0');
  const hms = `${p(Math.floor((s % 86400) / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
  return days ? `${days} day${days > 1 ? 's' : ''}, ${hms}` : hms;
}

/** crash's MEMORY: "383.5 MB", "1 GB", "7.8 GB". */
export function memoryText(bytes: number): string {
  const units: Array<[number, string]> = [[2 ** 40, 'TB'], [2 ** 30, 'GB'], [2 ** 20, 'MB'], [2 ** 10, 'KB']];
  for (const [u, name] of units) {
    if (bytes >= u) {
      const v = bytes / u;
      return `${Number.isInteger(v) ? v : v.toFixed(1)} ${name}`;
    }
  }
  return `${bytes} bytes`;
}

export function collectSys(prog: Program, opts: SysOptions = {}): SysData {
  const problems = new Problems();
  const info = prog.dump.info;
  const cpus = attempt(problems, 'CPU masks', () => cpuCounts(prog), null);
  const uts = attempt(problems, 'init_uts_ns', () => utsname(prog), null);
  const mask = attempt(problems, 'tainted_mask', () => taintedMask(prog), 0n);
  const log = attempt(problems, 'kernel log', () => readLog(prog), null);
  const date = attempt(problems, 'crash time', () => crashTime(prog), null);
  const up = attempt(problems, 'uptime', () => uptimeSeconds(prog), null);
  const pc = attempt(problems, 'panic CPU', () => panicCpu(prog), null);
  const pt = attempt(problems, 'panic task', () => panicTask(prog), null);
  const mem = attempt(problems, 'memory size', () => memoryBytes(prog, problems), null);
  const data: SysData = {
    kernel: { release: prog.release, symbols: prog.symbolSource === 'kallsyms' ? 'kallsyms from the dump' : 'System.map', types: prog.btf ? (prog.btfSource.startsWith('dump') ? 'BTF from the dump' : `BTF from ${prog.btfSource}`) : 'no BTF', tainted: mask !== 0n },
    dumpfile: {
      path: prog.dump.path,
      format: info.format,
      compression: info.compression,
      // makedumpfile filtered pages (dump_level > 0): crash says [PARTIAL DUMP].
      partial: (info.dumpLevel ?? 0) > 0,
      incomplete: info.incomplete,
      dumpLevel: info.dumpLevel,
    },
    cpus: cpus && {
      count: cpus.present.length,
      online: cpus.online.length,
      offline: cpus.present.filter((c) => !cpus.online.includes(c)),
      possible: cpuList(cpus.possible),
      present: cpuList(cpus.present),
      onlineList: cpuList(cpus.online),
    },
    date: date && { epoch: date.seconds, utc: crashDate(date.seconds), source: date.source },
    uptime: up === null ? null : { seconds: Math.floor(up), text: uptimeText(up) },
    loadAverage: attempt(problems, 'avenrun', () => loadAverage(prog), null),
    tasks: attempt(problems, 'task list', () => forEachTask(prog, problems).length, null),
    nodename: uts?.nodename ?? null,
    release: uts?.release ?? prog.release,
    version: uts?.version ?? null,
    machine: uts?.machine ?? null,
    mhz: cpuMhz(prog),
    memory: mem === null ? null : { bytes: mem, text: memoryText(mem) },
    panic: log ? panicMessage(log.records) : null,
    panicCpu: pc?.cpu ?? null,
    panicTask: pt && attempt(problems, 'panic task', () => ({ pid: pt.member('pid').num(), comm: pt.member('comm').string(), task: pt.hex() }), null),
    problems: problems.list,
  };
  if (log) for (const p of log.problems) problems.add(p, undefined, 'kernel log');
  if (opts.taint) {
    data.taint = {
      mask: mask.toString(16),
      letters: attempt(problems, 'taint letters', () => taintLetters(prog, mask), ''),
      flags: attempt(problems, 'taint flags', () => taintFlags(prog, mask), []).filter((f) => f.set).map((f) => ({ bit: f.bit, letter: f.true, name: f.name, meaning: f.meaning })),
    };
  }
  return data;
}

export function renderSys(d: SysData, opts: SysOptions = {}): string {
  const rows: Array<[string, string]> = [];
  rows.push(['KERNEL', `${d.kernel.release}  (no vmlinux: ${d.kernel.symbols}, ${d.kernel.types})${d.kernel.tainted ? '  [TAINTED]' : ''}`]);
  const flags = [d.dumpfile.partial ? '[PARTIAL DUMP]' : '', d.dumpfile.incomplete ? '[INCOMPLETE]' : ''].filter(Boolean).join(' ');
  rows.push(['DUMPFILE', `${path.basename(d.dumpfile.path)}${flags ? '  ' + flags : ''}`]);
  if (d.cpus) rows.push(['CPUS', `${d.cpus.count}${d.cpus.offline.length ? ` [OFFLINE: ${d.cpus.offline.length}]` : ''}`]);
  if (d.date) rows.push(['DATE', d.date.utc]);
  if (d.uptime) rows.push(['UPTIME', d.uptime.text]);
  if (d.loadAverage) rows.push(['LOAD AVERAGE', d.loadAverage.join(', ')]);
  if (d.tasks !== null) rows.push(['TASKS', String(d.tasks)]);
  rows.push(['NODENAME', d.nodename ?? '(unknown)']);
  rows.push(['RELEASE', d.release]);
  if (d.version) rows.push(['VERSION', d.version]);
  if (d.machine) rows.push(['MACHINE', `${d.machine}${d.mhz ? `  (${d.mhz} Mhz)` : ''}`]);
  if (d.memory) rows.push(['MEMORY', d.memory.text]);
  if (d.panic) rows.push(['PANIC', `"${d.panic}"`]);
  if (d.panicTask) rows.push(['PANIC TASK', `PID: ${d.panicTask.pid}  TASK: ${d.panicTask.task}  CPU: ${d.panicCpu}  COMMAND: "${d.panicTask.comm}"`]);
  let out = rows.map(([k, v]) => `${k.padStart(12)}: ${v}`).join('\n') + '\n';
  if (opts.taint && d.taint) {
    out += `TAINTED_MASK: ${d.taint.mask}  ${d.taint.letters}\n`;
    for (const f of d.taint.flags) out += `  bit ${String(f.bit).padStart(2)}  ${f.letter}  ${f.name.padEnd(28)} ${f.meaning}\n`;
  }
  return out;
}
