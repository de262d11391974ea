// Stack unwinding on x86_64 with the kernel's own ORC data, following
// unwind_next_frame() in arch/x86/kernel/unwind_orc.c: the CFA comes from
// sp_reg + sp_offset (SP, BP, or indirect through memory); CALL frames pop a
// return address, REGS frames hold a full struct pt_regs (interrupts and
// exceptions: the unwinder crosses onto the interrupted stack), REGS_PARTIAL
// an iret frame. When ORC has no entry, the caller may fall back to scanning
// the stack for text addresses, marking those frames unreliable.

import type { Program } from './program.js';
import { orcFind, type OrcEntry } from './orc.js';
import { DumpReadError } from '../dump/errors.js';
import type { Registers, RegName } from '../arch/x86_64.js';

export interface UnwindState {
  ip: bigint;
  sp: bigint;
  bp?: bigint;
  /** Full register set when known (from prstatus or a pt_regs frame). */
  regs?: Registers;
  /** The ip is exact (interrupted there), not a return address: look up ip, not ip-1. */
  signal: boolean;
}

export interface RawFrame {
  ip: bigint;
  /** Stack slot the ip was read from (or the sp of the first frame). */
  slot: bigint;
  sp: bigint;
  reliable: boolean;
  /** The frame was interrupted (an interrupt or exception): the pt_regs saved for it, and where. */
  exception?: { regs: Registers; address: bigint };
}

export interface UnwindResult {
  frames: RawFrame[];
  /** Why the walk stopped: 'end' (bottom of a kernel thread), 'user' (reached user mode), or a problem. */
  stop: string;
  reliable: boolean;
  /** User-mode registers saved at kernel entry, when the walk reached them. */
  userRegs?: Registers;
  /** Set when the walk had to skip a frame without ORC data, saying where it resumed. */
  resynced?: string;
  /** rbp as known where the walk stopped (callee-saved: still valid in the caller). */
  lastBp?: bigint;
}

/** pt_regs member offsets, from BTF (struct pt_regs). */
function ptRegsLayout(prog: Program): Array<[RegName, number]> {
  const key = 'unwind:ptregs';
  const c = prog.cache.get(key) as Array<[RegName, number]> | undefined;
  if (c) return c;
  const map: Array<[RegName, string]> = [
    ['r15', 'r15'], ['r14', 'r14'], ['r13', 'r13'], ['r12', 'r12'], ['rbp', 'bp'], ['rbx', 'bx'], ['r11', 'r11'], ['r10', 'r10'],
    ['r9', 'r9'], ['r8', 'r8'], ['rax', 'ax'], ['rcx', 'cx'], ['rdx', 'dx'], ['rsi', 'si'], ['rdi', 'di'], ['orig_rax', 'orig_ax'],
    ['rip', 'ip'], ['cs', 'cs'], ['eflags', 'flags'], ['rsp', 'sp'], ['ss', 'ss'],
  ];
  const out = map.map(([r, m]) => [r, prog.offsetOf('struct pt_regs', m)] as [RegName, number]);
  prog.cache.set(key, out);
  return out;
}

export function readPtRegs(prog: Program, addr: bigint): Registers {
  const layout = ptRegsLayout(prog);
  const size = Math.max(...layout.map(([, o]) => o)) + 8;
  const b = prog.read(addr, size);
  const regs: Registers = {};
  for (const [r, o] of layout) regs[r] = b.readBigUInt64LE(o);
  return regs;
}

export function isTextAddress(prog: Program, addr: bigint): boolean {
  const s = prog.symbolize(addr);
  return !!s && (s.module !== undefined || /^[TtWw]$/.test(prog.symbols.symbolize(addr)?.entry.type ?? ''));
}

const MAX_FRAMES = 128;

/**
 * Walk one stack with ORC from `start`. Where ORC has no rule for an ip (code
 * reached through a label, like crash_setup_regs()'s _THIS_IP_, or a module
 * without ORC), resynchronise: take the first return address above the
 * stack pointer from which the walk ends cleanly (at the bottom of a kernel
 * thread or at user mode), as the kernel's own unwinder would if it had
 * guessed the frame; the frames found that way are reliable ORC frames.
 */
export function unwindOrc(prog: Program, start: UnwindState, resync = true): UnwindResult {
  const r = unwindOrcOnce(prog, start);
  if (r.reliable || !resync || r.stop.startsWith('stack unreadable')) return r;
  const last = r.frames[r.frames.length - 1]!;
  const from = last === r.frames[0] ? start.sp : last.sp;
  const buf = readUpTo(prog, from & ~7n, 1024);
  for (let o = 0; o + 8 <= buf.length; o += 8) {
    const v = buf.readBigUInt64LE(o);
    if (v < 0xffffffff80000000n || !isTextAddress(prog, v)) continue;
    const slot = (from & ~7n) + BigInt(o);
    const sub = unwindOrcOnce(prog, { ip: v, sp: slot + 8n, bp: r.lastBp, signal: false });
    if (sub.reliable && sub.frames.length >= 2) {
      sub.frames[0] = { ...sub.frames[0]!, slot };
      return { ...sub, frames: [...r.frames, ...sub.frames], stop: sub.stop, reliable: true, resynced: `no ORC rule at ${hexs(last.ip)}; resumed at the return address in stack slot ${hexs(slot)}` };
    }
  }
  return r;
}

function unwindOrcOnce(prog: Program, start: UnwindState): UnwindResult {
  const cur = { bp: start.bp };
  const r = walk(prog, start, cur);
  return { ...r, lastBp: cur.bp };
}

function walk(prog: Program, start: UnwindState, cur: { bp?: bigint }): UnwindResult {
  const frames: RawFrame[] = [{ ip: start.ip, slot: start.sp, sp: start.sp, reliable: true }];
  let st: UnwindState = { ...start };
  const u64 = (a: bigint) => prog.readU64(a);
  const reg = (name: RegName): bigint | undefined => st.regs?.[name];
  for (let n = 0; n < MAX_FRAMES; n++) {
    let orc: OrcEntry | undefined;
    orc = orcFind(prog, st.signal ? st.ip : st.ip - 1n);
    if (!orc) return { frames, stop: `no ORC data for ${hexs(st.ip)}`, reliable: false };
    if (orc.type === 'END_OF_STACK' || (orc.spReg === 'UNDEFINED' && orc.end)) return { frames, stop: 'end', reliable: true };
    if (orc.spReg === 'UNDEFINED') return { frames, stop: `ORC marks ${hexs(st.ip)} as having no unwind information`, reliable: false };
    let sp: bigint;
    try {
      switch (orc.spReg) {
        case 'SP': sp = st.sp + BigInt(orc.spOffset); break;
        case 'BP':
          if (st.bp === undefined) return { frames, stop: 'frame needs rbp, which is unknown here', reliable: false };
          sp = st.bp + BigInt(orc.spOffset); break;
        case 'SP_INDIRECT': sp = u64(st.sp) + BigInt(orc.spOffset); break;
        case 'BP_INDIRECT':
          if (st.bp === undefined) return { frames, stop: 'frame needs rbp, which is unknown here', reliable: false };
          sp = u64(st.bp + BigInt(orc.spOffset)); break;
        case 'R10': case 'R13': case 'DI': case 'DX': case 'AX': {
          const v = reg(({ R10: 'r10', R13: 'r13', DI: 'rdi', DX: 'rdx', AX: 'rax' } as const)[orc.spReg]);
          if (v === undefined) return { frames, stop: `frame needs ${orc.spReg}, which is unknown here`, reliable: false };
          sp = v; break;
        }
        default: return { frames, stop: `unknown ORC sp_reg ${orc.spReg}`, reliable: false };
      }
      const prevSp = st.sp;
      const prevBp = st.bp;
      let next: UnwindState;
      let frame: RawFrame;
      if (orc.type === 'CALL') {
        const slot = sp - 8n;
        const ip = u64(slot);
        next = { ip, sp, bp: st.bp, signal: false };
        frame = { ip, slot, sp, reliable: true };
      } else if (orc.type === 'REGS') {
        const regs = readPtRegs(prog, sp);
        if ((regs.cs! & 3n) !== 0n) return { frames, stop: 'user', reliable: true, userRegs: regs };
        next = { ip: regs.rip!, sp: regs.rsp!, bp: regs.rbp, regs, signal: true };
        frame = { ip: regs.rip!, slot: sp, sp: regs.rsp!, reliable: true, exception: { regs, address: sp } };
      } else if (orc.type === 'REGS_PARTIAL') {
        // An iret frame: ip, cs, flags, sp, ss.
        const ip = u64(sp);
        const cs = u64(sp + 8n);
        const nsp = u64(sp + 24n);
        const iret = { rip: ip, cs, eflags: u64(sp + 16n), rsp: nsp, ss: u64(sp + 32n) };
        if ((cs & 3n) !== 0n) return { frames, stop: 'user', reliable: true, userRegs: iret };
        next = { ip, sp: nsp, bp: st.bp, signal: true, regs: iret };
        frame = { ip, slot: sp, sp: nsp, reliable: true, exception: { regs: iret, address: sp } };
      } else {
        return { frames, stop: `unknown ORC type ${orc.type}`, reliable: false };
      }
      // rbp of the caller.
      switch (orc.bpReg) {
        case 'UNDEFINED':
          if (orc.type === 'REGS' && next.regs?.rbp !== undefined) next.bp = next.regs.rbp;
          break;
        case 'PREV_SP': next.bp = u64(sp + BigInt(orc.bpOffset)); break;
        case 'BP':
          if (prevBp !== undefined) next.bp = u64(prevBp + BigInt(orc.bpOffset));
          break;
        default: break;
      }
      if (next.ip === 0n) return { frames, stop: 'end', reliable: true };
      // A frame that does not move up the stack would loop (bad ORC data or a torn stack).
      if (next.sp === prevSp && next.ip === st.ip) return { frames, stop: 'unwinder made no progress', reliable: false };
      if (!isTextAddress(prog, next.ip)) return { frames, stop: `return address ${hexs(next.ip)} is not kernel text`, reliable: false };
      frames.push(frame);
      st = next;
      cur.bp = st.bp;
    } catch (e) {
      if (e instanceof DumpReadError) return { frames, stop: `stack unreadable: ${e.message}`, reliable: false };
      throw e;
    }
  }
  return { frames, stop: `stopped after ${MAX_FRAMES} frames`, reliable: false };
}

/**
 * crash's `bt -t`-style fallback: every kernel text address on the stack
 * from `sp` up to `top`, each an unreliable frame.
 */
export function scanStack(prog: Program, sp: bigint, top: bigint, limit = 64): RawFrame[] {
  const out: RawFrame[] = [];
  const start = sp & ~7n;
  if (top <= start || top - start > 0x10000n) top = start + 0x4000n;
  const buf = readUpTo(prog, start, Number(top - start));
  for (let o = 0; o + 8 <= buf.length && out.length < limit; o += 8) {
    const v = buf.readBigUInt64LE(o);
    if (v < 0xffffffff80000000n) continue;
    if (!isTextAddress(prog, v)) continue;
    const s = prog.symbolize(v);
    if (!s || s.offset === 0) continue; // a return address points after a call, never at a function's start
    out.push({ ip: v, slot: start + BigInt(o), sp: start + BigInt(o), reliable: false });
  }
  return out;
}

/** Read up to `len` bytes, stopping at the first unreadable page (a stack's top is often the last mapped page). */
export function readUpTo(prog: Program, addr: bigint, len: number): Buffer {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < len) {
    const a = addr + BigInt(got);
    const n = Math.min(4096 - Number(a & 0xfffn), len - got);
    try {
      parts.push(prog.read(a, n));
    } catch {
      break;
    }
    got += n;
  }
  return Buffer.concat(parts);
}

function hexs(v: bigint): string {
  return '0x' + BigInt.asUintN(64, v).toString(16);
}
