// Call traces as the kernel prints them, read back into normalized frames:
// offsets, sizes and addresses dropped, compiler suffixes (.isra.0, .cold,
// .constprop.0, .part.0) folded into the function, "?" entries (the
// kernel's own "not sure") dropped, module names kept ("lab_waiter
// [labcrash]"), and the stack boundaries kept as markers — <IRQ>, </IRQ>,
// <NMI>, </NMI>, <SOFTIRQ>, </SOFTIRQ> and <EXC> where the trace crosses an
// exception frame (a "RIP: 0010:" line inside the trace). <TASK>/</TASK>
// wrap every task trace since 5.13 and say nothing, so they are left out.

import { demangle } from './demangle.js';

/** Markers kept in normalized traces. */
export const MARKERS = new Set(['<IRQ>', '</IRQ>', '<NMI>', '</NMI>', '<SOFTIRQ>', '</SOFTIRQ>', '<EXC>']);

/**
 * A function as a frame names it: compiler suffixes folded ("foo.isra.0" →
 * "foo"; ".L123" style names are kept as they are) and Rust/C++ names
 * demangled (features/demangle.ts).
 */
export function foldSuffix(name: string): string {
  if (/^_[RZ]/.test(name)) {
    const whole = demangle(name);
    if (whole !== name) return whole;
  }
  const i = name.indexOf('.', 1);
  const head = i > 0 ? name.slice(0, i) : name;
  return /^_[RZ]/.test(head) ? demangle(head) : head;
}

/** A frame as the kernel prints it: " [<pc>] ? name+0x1/0x2 [module]". */
const FRAME = /^\s*(?:\[<?(?:0x)?[0-9a-fA-F]+>?\]\s*){0,2}(\?\s+)?([A-Za-z_][A-Za-z0-9_.$]*)\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+(?:\s+\[([A-Za-z0-9_\-]+)\])?/;
const KERNEL_RIP = /RIP: 0010:(?:\[<[0-9a-f]+>\]\s+)?([A-Za-z_][A-Za-z0-9_.$]*)\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+(?:\s+\[([A-Za-z0-9_\-]+)\])?/;
const TRACE_START = /^\s*(?:Call Trace:|backtrace(?: \(crc [0-9a-f]+\))?:)\s*$/i;
const TRACE_END = /^\s*(?:<\/TASK>|---\[ end |Kernel panic|Kernel Offset|Rebooting in|Modules linked in|RIP: 0033:|INFO: |BUG: |WARNING: |Sending NMI|NMI backtrace)/;

export function frameName(fn: string, module?: string | null): string {
  const f = foldSuffix(fn);
  return module ? `${f} [${module}]` : f;
}

/** The function of a normalized frame ("lab_waiter [labcrash]" → "lab_waiter"). */
export function frameFunction(frame: string): string {
  const i = frame.indexOf(' [');
  return i > 0 ? frame.slice(0, i) : frame;
}

/** The module of a normalized frame, or null for vmlinux. */
export function frameModule(frame: string): string | null {
  const m = / \[([^\]]+)\]$/.exec(frame);
  return m ? m[1]! : null;
}

export interface TraceRead {
  frames: string[];
  /** For each frame, the index (in the given lines) of the line it was read from; -1 for markers. */
  at: number[];
  /** The trace had more frames than `maxFrames`: the rest were left out. */
  truncated: boolean;
  /** Index (in the given lines) where the trace began, -1 when none was found. */
  start: number;
  /** The faulting function from a RIP line just before the trace (already frames[0] when present). */
  rip: string | null;
}

/**
 * Read the first call trace at or after `from` in `lines` (text without printk
 * prefixes), looking at most `window` lines ahead for its "Call Trace:". A
 * kernel-mode RIP line between `from` and the trace is the first frame.
 */
export function readTrace(lines: string[], from = 0, opts: { window?: number; maxFrames?: number } = {}): TraceRead {
  const window = opts.window ?? 80;
  const maxFrames = opts.maxFrames ?? 48;
  let rip: string | null = null;
  let ripAt = -1;
  let start = -1;
  let firstFrame = -1;
  for (let i = from; i < lines.length && i < from + window; i++) {
    const l = lines[i]!;
    // Another report's trace is not this one's (panic_on_warn's panic prints the warning's own).
    if (i > from && /^(?:INFO: task .* blocked for more than|Kernel panic - not syncing(?!: (?:kernel: )?panic_on_warn))/.test(l)) break;
    if (firstFrame < 0 && FRAME.test(l) && !FRAME.exec(l)![1]) firstFrame = i;
    const r = KERNEL_RIP.exec(l);
    if (r) {
      rip = frameName(r[1]!, r[2]);
      ripAt = i;
    }
    if (TRACE_START.test(l)) {
      start = i;
      break;
    }
  }
  // Sanitizer reports (KMSAN, KCSAN) print their frames right under the header, with no
  // "Call Trace:": read from the first frame when it comes within a few lines of the start.
  if (start < 0 && firstFrame >= 0 && firstFrame - from <= 4) start = firstFrame - 1;
  if (start < 0) return { frames: rip ? [rip] : [], at: rip ? [ripAt] : [], truncated: false, start: -1, rip };
  const frames: string[] = rip ? [rip] : [];
  const at: number[] = rip ? [ripAt] : [];
  let truncated = false;
  const push = (f: string, i: number): boolean => {
    if (frames.length >= maxFrames) {
      truncated = true;
      return false;
    }
    frames.push(f);
    at.push(i);
    return true;
  };
  let sawFrame = false;
  for (let i = start + 1; i < lines.length && !truncated; i++) {
    const l = lines[i]!.replace(/\s+$/, '');
    const t = l.trim();
    if (t === '<TASK>') continue;
    if (MARKERS.has(t)) {
      push(t, -1);
      continue;
    }
    const r = KERNEL_RIP.exec(l);
    if (r && sawFrame) {
      // An exception frame inside the trace: what was interrupted follows.
      if (push('<EXC>', -1)) push(frameName(r[1]!, r[2]), i);
      continue;
    }
    const m = FRAME.exec(l);
    if (m) {
      sawFrame = true;
      if (m[1]) continue;
      const f = frameName(m[2]!, m[3]);
      if (frames[frames.length - 1] !== f) push(f, i);
      continue;
    }
    // "? 0xffffffffc0439000": an address the stack scan could not name.
    if (/^\s*(?:\[<?[0-9a-fA-F]+>?\]\s*)?(?:\?\s+)?0x[0-9a-fA-F]+\s*$/.test(l)) continue;
    if (TRACE_END.test(l)) break;
    // Register dumps and "Code:" lines sit inside traces at exception frames.
    if (/^\s*(?:R[A-Z0-9]{1,3}|RSP|RAX|RDX|FS|CS|CR2|DR[0-7]|EFLAGS|ORIG_RAX|Code)[: ]/.test(l) || /^\s*[A-Z0-9]{2,3}: [0-9a-f]{16}/.test(l)) continue;
    if (sawFrame) break;
  }
  // A trailing boundary marker says nothing.
  while (frames.length && MARKERS.has(frames[frames.length - 1]!) && (frames[frames.length - 1]!.startsWith('</') || frames[frames.length - 1] === '<EXC>')) {
    frames.pop();
    at.pop();
  }
  return { frames, at, truncated, start, rip };
}
