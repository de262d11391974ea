// `bt`: backtraces in crash's layout — the panic task by default, the task
// on every CPU (-a), given tasks (pid or task address), or every task (-A).
// Frames are function+off/size [module]; interrupted frames show the saved
// registers as crash's "[exception RIP: ...]" block; "?" marks frames found
// by scanning the stack rather than unwinding.

import type { Program } from '../kernel/program.js';
import { Problems, ProgramError } from '../kernel/problems.js';
import { backtrace, type Backtrace } from '../helpers/stack.js';
import { forEachTask, findTask, rqCurr } from '../helpers/tasks.js';
import { panicTask } from '../helpers/panic.js';
import type { Registers } from '../arch/x86_64.js';

export interface BtOptions {
  all?: boolean; // -a
  every?: boolean; // -A
  tasks?: string[];
}

export interface BtData {
  traces: Backtrace[];
  problems: Problems['list'];
}

export function collectBt(prog: Program, opts: BtOptions = {}): BtData {
  const problems = new Problems();
  const traces: Backtrace[] = [];
  const one = (t: Parameters<typeof backtrace>[1]) => {
    try {
      const bt = backtrace(prog, t);
      traces.push(bt);
      // What a walk met (a stack page it could not read, registers missing) is said, per task.
      for (const p of bt.problems) problems.add(p.reason, p.address === undefined ? undefined : BigInt(p.address), `PID ${bt.pid}${p.context ? ` ${p.context}` : ''}`);
    } catch (e) {
      problems.fromError(e, `bt of task ${t.hex()}`);
    }
  };
  if (opts.every) {
    for (const t of forEachTask(prog, problems)) one(t);
  } else if (opts.all) {
    for (let cpu = 0; cpu < prog.nrCpuIds; cpu++) {
      try {
        one(rqCurr(prog, cpu));
      } catch (e) {
        problems.fromError(e, `current task of CPU ${cpu}`);
      }
    }
  } else if (opts.tasks?.length) {
    for (const s of opts.tasks) {
      try {
        one(findTask(prog, s));
      } catch (e) {
        problems.fromError(e, `task ${s}`);
      }
    }
  } else {
    const t = panicTask(prog);
    if (t) one(t);
    else problems.add('no panic task found (panic_cpu and crashing_cpu unset)', undefined, 'bt');
  }
  // Nothing unwound is not an empty answer: say why (the first thing that failed).
  if (!traces.length) {
    const first = problems.list[0];
    throw new ProgramError(`no backtrace could be read${first ? ` (${first.context ? `${first.context}: ` : ''}${first.reason}${first.address ? ` at ${first.address}` : ''})` : ''}`);
  }
  return { traces, problems: problems.list };
}

const h16 = (v: bigint | undefined) => BigInt.asUintN(64, v ?? 0n).toString(16).padStart(16, '0');

/** crash's register block for an exception or user-mode frame. */
export function renderRegs(r: Registers, indent = '    '): string {
  const row = (items: Array<[string, bigint | undefined]>) => indent + items.map(([k, v]) => `${k.padStart(3)}: ${h16(v)}`).join('  ');
  const lines = [
    `${indent}RIP: ${h16(r.rip)}  RSP: ${h16(r.rsp)}  RFLAGS: ${BigInt.asUintN(64, r.eflags ?? 0n).toString(16).padStart(8, '0')}`,
    row([['RAX', r.rax], ['RBX', r.rbx], ['RCX', r.rcx]]),
    row([['RDX', r.rdx], ['RSI', r.rsi], ['RDI', r.rdi]]),
    row([['RBP', r.rbp], ['R8', r.r8], ['R9', r.r9]]),
    row([['R10', r.r10], ['R11', r.r11], ['R12', r.r12]]),
    row([['R13', r.r13], ['R14', r.r14], ['R15', r.r15]]),
    `${indent}ORIG_RAX: ${h16(r.orig_rax)}  CS: ${BigInt.asUintN(64, r.cs ?? 0n).toString(16).padStart(4, '0')}  SS: ${BigInt.asUintN(64, r.ss ?? 0n).toString(16).padStart(4, '0')}`,
  ];
  // An iret frame only: no general registers to show.
  if (r.rax === undefined) return [lines[0], `${indent}CS: ${BigInt.asUintN(64, r.cs ?? 0n).toString(16).padStart(4, '0')}  SS: ${BigInt.asUintN(64, r.ss ?? 0n).toString(16).padStart(4, '0')}`].join('\n');
  return lines.join('\n');
}

export function renderBacktrace(bt: Backtrace): string {
  const out: string[] = [`PID: ${String(bt.pid).padEnd(8)} TASK: ${bt.task}  CPU: ${String(bt.cpu).padEnd(4)} COMMAND: "${bt.comm}"`];
  let stack: string | null = null;
  let n = 0;
  for (const f of bt.frames) {
    if (stack !== null && f.stack !== stack) out.push(`--- <${stack}> ---`);
    stack = f.stack;
    if (f.exception) {
      const name = f.function ? `${f.function}+${f.offset}` : f.ip;
      out.push(`    [exception RIP: ${name}${f.module ? ` [${f.module}]` : ''}]`);
      out.push(renderRegs(f.exception));
      continue;
    }
    const lvl = `#${n++}`.padStart(3);
    out.push(`${lvl} [${f.slot}] ${f.reliable ? '' : '? '}${f.text} at ${f.ip}`);
  }
  if (bt.userRegs) out.push(renderRegs(bt.userRegs));
  return out.join('\n') + '\n';
}

export function renderBt(d: BtData): string {
  return d.traces.map(renderBacktrace).join('\n');
}
