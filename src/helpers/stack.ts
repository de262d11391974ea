// Backtraces of tasks: where to start (the registers a CPU saved at the
// crash, or a sleeping task's inactive_task_frame) and the walk itself
// (ORC, falling back to a scan for text addresses), with each frame named
// function+off/size [module] and each stack switch labelled.

import type { Program } from '../kernel/program.js';
import type { KObject } from '../kernel/object.js';
import { Problems } from '../kernel/problems.js';
import { parseNotes, NT_PRSTATUS } from '../dump/notes.js';
import { parsePrStatus, parseQemuCpuState, type Registers } from '../arch/x86_64.js';
import { unwindOrc, scanStack, isTextAddress, readUpTo, type RawFrame, type UnwindState } from '../kernel/unwind.js';
import { findMember, strip } from '../kernel/types.js';
import { panicCpu } from './panic.js';
import { taskCpu, rqCurr, taskPid, taskComm } from './tasks.js';
import { dataJson } from '../util/datafile.js';

export interface CpuRegisters {
  cpu: number;
  regs: Registers;
  /** How the registers were tied to this CPU. */
  source: string;
}

export interface CpuRegisterSet {
  cpus: Map<number, CpuRegisters>;
  /** Online CPUs with no saved registers (did not answer the crash NMI). */
  missing: number[];
  /** True for a real kdump (VMCOREINFO has CRASHTIME), false for hypervisor dumps. */
  kdump: boolean;
}

/**
 * Registers each CPU saved for the dump. A real kdump (CRASHTIME present)
 * keeps them in per_cpu(crash_notes, cpu) — the file's notes skip CPUs that
 * did not answer the NMI, so their order is not reliable (as drgn does). A
 * hypervisor dump numbers its NT_PRSTATUS notes pid = cpu + 1 (QEMU).
 */
export function cpuRegisters(prog: Program): CpuRegisterSet {
  const cached = prog.cache.get('stack:cpuregs') as CpuRegisterSet | undefined;
  if (cached) return cached;
  const cpus = new Map<number, CpuRegisters>();
  const kdump = prog.vmcoreinfo.kexecCrash;
  const notes = prog.dump.notes.filter((n) => n.name === 'CORE' && n.type === NT_PRSTATUS);
  if (kdump && prog.hasSymbol('crash_notes')) {
    const base = prog.readU64(prog.symbol('crash_notes'));
    for (let cpu = 0; cpu < prog.nrCpuIds; cpu++) {
      try {
        const buf = prog.read(prog.perCpuPtr(base, cpu), 12 + 8 + 336 + 16);
        const n = parseNotes(buf).find((x) => x.name === 'CORE' && x.type === NT_PRSTATUS);
        const pr = n && parsePrStatus(n.desc);
        if (pr && pr.regs.rip) cpus.set(cpu, { cpu, regs: pr.regs, source: 'crash_notes' });
      } catch {
        // left missing
      }
    }
  }
  if (cpus.size === 0) {
    const qemu = prog.dump.notes.filter((n) => n.name === 'QEMU');
    const byPid = notes.every((n) => {
      const p = parsePrStatus(n.desc);
      return p && p.pid >= 1 && p.pid <= prog.nrCpuIds;
    });
    notes.forEach((n, i) => {
      const pr = parsePrStatus(n.desc);
      if (!pr) return;
      const cpu = !kdump && byPid ? pr.pid - 1 : i;
      const q = qemu[i] ? parseQemuCpuState(qemu[i]!.desc) : null;
      // QEMU's own CPU state has the same registers; prefer it for rsp/rip when prstatus is empty.
      const regs = pr.regs.rip || !q ? pr.regs : { ...pr.regs, ...q.regs };
      cpus.set(cpu, { cpu, regs, source: !kdump && byPid ? 'NT_PRSTATUS pid = cpu + 1' : 'NT_PRSTATUS note order' });
    });
  }
  let online: number[] = [];
  try {
    const mask = prog.object('__cpu_online_mask').member('bits').index(0).value();
    for (let c = 0; c < Math.min(64, prog.nrCpuIds); c++) if ((mask >> BigInt(c)) & 1n) online.push(c);
  } catch {
    online = [...cpus.keys()];
  }
  const r = { cpus, missing: online.filter((c) => !cpus.has(c)), kdump };
  prog.cache.set('stack:cpuregs', r);
  return r;
}

export interface Frame {
  level: number;
  ip: string;
  /** Stack slot the return address was found in (crash's [address]). */
  slot: string;
  function: string | null;
  offset: number;
  size: number;
  module: string | null;
  /** "func+0x1f/0x80 [module]" */
  text: string;
  reliable: boolean;
  /** Which stack the frame runs on (task, IRQ, NMI exception stack, ...). */
  stack: string;
  /** The frame was interrupted: the registers of the interruption (crash's [exception RIP: ...]). */
  exception?: Registers;
}

export interface Backtrace {
  pid: number;
  comm: string;
  task: string;
  cpu: number;
  active: boolean;
  /** Where the starting registers came from. */
  source: string;
  frames: Frame[];
  userRegs?: Registers;
  /** Why the walk ended ('end', 'user', or the problem met). */
  stop: string;
  reliable: boolean;
  problems: Problems['list'];
}

/** THREAD_SIZE: the init task's stack bounds, 16 KiB by default on x86_64. */
function threadSize(prog: Program): bigint {
  const s = prog.symbols.address('__start_init_task');
  const e = prog.symbols.address('__end_init_task');
  return s !== undefined && e !== undefined && e > s && e - s <= 0x10000n ? e - s : 0x4000n;
}

interface StackRange { name: string; lo: bigint; hi: bigint }

/** The stacks a CPU's frames may be on: the task's, the IRQ stack, the IST exception stacks. */
function stackRanges(prog: Program, task: KObject, cpu: number): StackRange[] {
  const out: StackRange[] = [];
  const ts = threadSize(prog);
  try {
    const base = task.member('stack').value();
    out.push({ name: 'task stack', lo: base, hi: base + ts });
  } catch { /* no stack pointer */ }
  try {
    // hardirq_stack_ptr holds the top of the IRQ stack minus 8 (since 5.x, "store actual TOS").
    const top = prog.perCpu('hardirq_stack_ptr', cpu, 'unsigned long').value() + 8n;
    out.push({ name: 'IRQ stack', lo: top - ts, hi: top });
  } catch { /* no IRQ stack */ }
  try {
    const ces = prog.perCpu('cea_exception_stacks', cpu, 'unsigned long').value();
    const t = prog.type('struct cea_exception_stacks');
    const st = strip(t);
    if (ces && st.kind === 'struct') {
      for (const m of st.members) {
        if (!m.name.endsWith('_stack') || m.name.endsWith('guard')) continue;
        const mm = findMember(t, m.name)!;
        const size = BigInt((strip(mm.type) as { length?: number }).length ?? 4096);
        const lo = ces + BigInt(mm.bitOffset / 8);
        out.push({ name: `${m.name.replace('_stack', '')} exception stack`, lo, hi: lo + size });
      }
    }
  } catch { /* no IST stacks */ }
  return out;
}

function stackOf(ranges: StackRange[], sp: bigint): string {
  const r = ranges.find((x) => sp >= x.lo && sp < x.hi + 8n);
  return r ? r.name : 'unknown stack';
}

interface CrashPathData { crashEntry: string[]; nmiEntry: string[] }

/**
 * The live frames a CPU was running when the registers it saved belong to
 * something it interrupted or was handed: an oops that went straight to
 * kdump (crash_kexec(regs) saves the oops's registers; the crash path lies
 * below them on the stack), or another CPU's crash NMI (crash_nmi_callback
 * saves the interrupted registers; its own frames are on the NMI stack).
 * Like crash, look for a return address into one of `entry` in the stack
 * range, deepest first, and keep it only if unwinding from it leads back to
 * the saved registers through an exception frame.
 */
function livePath(prog: Program, regs: Registers, lo: bigint, hi: bigint, entry: string[], join?: RawFrame[]): { prefix: RawFrame[]; joinAt: number } | null {
  const buf = readUpTo(prog, lo, Number(hi - lo));
  for (let o = 0; o + 8 <= buf.length; o += 8) {
    const v = buf.readBigUInt64LE(o);
    if (v < 0xffffffff80000000n) continue;
    const s = prog.symbolize(v);
    if (!s || !entry.includes(s.name) || s.offset === 0) continue;
    const slot = lo + BigInt(o);
    // Resynchronising is allowed here: the result must still lead back to the saved state.
    const r = unwindOrc(prog, { ip: v, sp: slot + 8n, signal: false });
    const frames = r.frames.map((f, i) => (i === 0 ? { ...f, slot } : f));
    const k = frames.findIndex((f) => f.exception && f.exception.regs.rip === regs.rip && f.exception.regs.rsp === regs.rsp);
    if (k > 0) return { prefix: frames.slice(0, k), joinAt: 0 };
    if (r.stop === 'user' && r.userRegs?.rip === regs.rip && r.userRegs?.rsp === regs.rsp) return { prefix: frames, joinAt: 0 };
    if (join) {
      // The walk from the candidate meets the walk from the saved registers at a frame both have.
      for (let j = 1; j < join.length; j++) {
        const m = frames.findIndex((f) => f.ip === join[j]!.ip && f.slot === join[j]!.slot);
        if (m > 0) return { prefix: frames.slice(0, m), joinAt: j };
      }
    }
  }
  return null;
}

function describe(prog: Program, raw: RawFrame, level: number, ranges: StackRange[]): Frame {
  const s = prog.symbolize(raw.ip);
  const hex = (v: bigint) => BigInt.asUintN(64, v).toString(16).padStart(16, '0');
  const text = s ? `${s.name}+0x${s.offset.toString(16)}/0x${s.size.toString(16)}${s.module ? ` [${s.module}]` : ''}` : `0x${hex(raw.ip)}`;
  return {
    level,
    ip: hex(raw.ip),
    slot: hex(raw.slot),
    function: s?.name ?? null,
    offset: s?.offset ?? 0,
    size: s?.size ?? 0,
    module: s?.module ?? null,
    text,
    reliable: raw.reliable,
    stack: stackOf(ranges, raw.sp),
    ...(raw.exception ? { exception: raw.exception.regs } : {}),
  };
}

export function isActive(prog: Program, task: KObject): boolean {
  try {
    const cpu = taskCpu(task);
    return rqCurr(prog, cpu).address === task.address;
  } catch {
    return false;
  }
}

/** The backtrace of one task. */
export function backtrace(prog: Program, task: KObject): Backtrace {
  const problems = new Problems();
  const cpu = taskCpu(task);
  const active = isActive(prog, task);
  const ranges = stackRanges(prog, task, cpu);
  let start: UnwindState | null = null;
  let source = '';
  let prefix: RawFrame[] = [];
  let livePrefix: { prefix: RawFrame[]; joinAt: number } | null = null;
  let userOnly: Registers | undefined;
  if (active) {
    const set = cpuRegisters(prog);
    const c = set.cpus.get(cpu);
    if (c) {
      start = { ip: c.regs.rip!, sp: c.regs.rsp!, bp: c.regs.rbp, regs: c.regs, signal: true };
      source = `registers saved by CPU ${cpu} (${c.source})`;
      if (set.kdump) {
        const paths = dataJson<CrashPathData>('src/helpers/data/crash-path.json');
        const isPanicCpu = panicCpu(prog)?.cpu === cpu;
        const here = prog.symbolize(c.regs.rip!)?.name;
        if (isPanicCpu && (c.regs.cs! & 3n) === 0n) {
          // An oops that handed its registers to crash_kexec(), or a panic whose registers
          // crash_setup_regs() took inside __crash_kexec: either way the crash path's own
          // frames (machine_kexec, __crash_kexec) are below rsp, as crash shows them.
          const rng = ranges.find((x) => c.regs.rsp! >= x.lo && c.regs.rsp! < x.hi);
          const inPath = !!here && paths.crashEntry.includes(here);
          livePrefix = livePath(prog, c.regs, rng ? rng.lo : c.regs.rsp! - 0x2000n, c.regs.rsp!, paths.crashEntry, inPath ? unwindOrc(prog, start).frames : undefined);
          if (!livePrefix) problems.add('the crash path (machine_kexec, __crash_kexec …) was not found below the saved stack pointer: its frames are not shown', c.regs.rsp!, 'bt');
        } else if (!isPanicCpu) {
          // The NMI handler runs on the NMI stack, or on the task stack when it interrupted user mode.
          for (const rng of ranges.filter((x) => x.name.startsWith('NMI') || x.name === 'task stack')) {
            livePrefix = livePath(prog, c.regs, rng.lo, rng.hi, paths.nmiEntry);
            if (livePrefix) break;
          }
          if (!livePrefix) problems.add('the crash NMI handler\'s frames were not found on the NMI or task stack: they are not shown', c.regs.rsp!, 'bt');
        }
        prefix = livePrefix?.prefix ?? [];
      }
      if ((c.regs.cs! & 3n) !== 0n) {
        // Interrupted in user mode: the kernel frames are only the NMI handler's, if found.
        userOnly = c.regs;
      }
    } else {
      problems.add(`CPU ${cpu} saved no registers for the dump: its stack is read from where the task last slept and may be stale`, undefined, 'bt');
    }
  }
  if (userOnly) {
    const frames = prefix.map((f, i) => describe(prog, f, i, ranges));
    return { pid: taskPid(task), comm: taskComm(task), task: task.hex(), cpu, active, source, frames, userRegs: userOnly, stop: 'user', reliable: true, problems: problems.list };
  }
  if (!start) {
    const sp = task.member('thread').member('sp').value();
    const frame = prog.objectAt('struct inactive_task_frame', sp);
    const ret = frame.member('ret_addr').value();
    start = { ip: ret, sp: sp + BigInt(frame.size), bp: frame.member('bp').value(), signal: prog.symbolize(ret)?.name === 'ret_from_fork' };
    source = 'inactive_task_frame at task->thread.sp';
  }
  const r = unwindOrc(prog, start);
  let raw = [...prefix, ...r.frames.slice(livePrefix?.joinAt ?? 0)];
  if (prefix.length && !livePrefix?.joinAt) {
    // The oops registers are the exception frame that the crash path leads to.
    raw[prefix.length] = { ...raw[prefix.length]!, exception: { regs: start.regs!, address: prefix[prefix.length - 1]!.sp } };
  }
  if (!r.reliable && r.stop !== 'user') {
    problems.add(`ORC unwinding stopped: ${r.stop}; the rest are text addresses found on the stack (unreliable)`, BigInt('0x' + (raw.length ? BigInt.asUintN(64, raw[raw.length - 1]!.sp).toString(16) : '0')), 'bt');
    const last = raw[raw.length - 1]!;
    const range = ranges.find((x) => last.sp >= x.lo && last.sp < x.hi);
    raw = raw.concat(scanStack(prog, last.sp, range ? range.hi : last.sp + 0x4000n));
  }
  const frames = raw.map((f, i) => describe(prog, f, i, ranges));
  return {
    pid: taskPid(task), comm: taskComm(task), task: task.hex(), cpu, active, source, frames,
    ...(r.userRegs ? { userRegs: r.userRegs } : {}),
    stop: r.stop, reliable: r.reliable, problems: problems.list,
  };
}

/** Function names of the reliable frames, in order (what signatures and tests compare). */
export function frameFunctions(bt: Backtrace): string[] {
  return bt.frames.filter((f) => f.reliable && f.function).map((f) => f.function!);
}

export { isTextAddress };
