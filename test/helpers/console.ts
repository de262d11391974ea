// The kernel's own stack traces, parsed from a fixture's console.log: the
// ground truth for `bt` (the kernel unwound them with its own ORC unwinder).

export interface ConsoleTrace {
  /** The report line that introduced the trace. */
  header: string;
  pid: number;
  /** Function names in order, with the kernel's "?" (unreliable) entries removed; RIP lines included. */
  functions: string[];
}

const FRAME = /^\s+(\? )?([A-Za-z0-9_.]+)\+0x[0-9a-f]+\/0x[0-9a-f]+/;
const RIP = /^RIP: 0010:([A-Za-z0-9_.]+)\+0x/;

/** Traces printed before the capture kernel booted (kdump console logs continue with its boot). */
export function consoleTraces(text: string): ConsoleTrace[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, '').replace(/^.*?\[\s*\d+\.\d+\] /, ''));
  const secondBoot = lines.findIndex((l, i) => i > 0 && l.startsWith('Linux version') && lines.slice(0, i).some((x) => x.startsWith('Linux version')));
  const upto = secondBoot > 0 ? secondBoot : lines.length;
  const out: ConsoleTrace[] = [];
  let header = '';
  let pid = -1;
  let rip: string | null = null;
  for (let i = 0; i < upto; i++) {
    const l = lines[i]!;
    let m: RegExpExecArray | null;
    if (/^(INFO: task |watchdog: BUG: soft lockup|BUG: |Oops: |Kernel panic - not syncing|WARNING: |general protection fault)/.test(l)) {
      header = l;
      rip = null;
    }
    if ((m = /^task:\S+\s+state:\S+.*\bpid:\s*(\d+)/.exec(l))) pid = Number(m[1]);
    if ((m = /^CPU: \d+ PID: (\d+) Comm:/.exec(l))) pid = Number(m[1]);
    if ((m = RIP.exec(l))) rip = m[1]!;
    if (l === 'Call Trace:') {
      const fns: string[] = rip ? [rip] : [];
      let j = i + 1;
      for (; j < upto; j++) {
        const t = lines[j]!;
        if (/^\s*<\/?(TASK|IRQ|NMI|SOFTIRQ)>/.test(t)) continue;
        if (/^\s+\? 0x[0-9a-f]+$/.test(t)) continue; // an unsymbolized "?" entry
        const f = FRAME.exec(t);
        if (f) {
          if (!f[1]) fns.push(f[2]!);
          continue;
        }
        const r = RIP.exec(t);
        if (r) {
          fns.push(r[1]!);
          continue;
        }
        // Register dumps inside a trace (an interrupted context) carry on the trace.
        if (/^(RSP|RAX|RDX|RBP|R10|R13|Code|FS|CS|CR2|DR|RIP: 0033|R08)/.test(t.trim())) continue;
        break;
      }
      out.push({ header, pid, functions: fns });
      rip = null;
      i = j - 1;
    }
  }
  return out;
}

/**
 * The kernel's trace and ours agree when, from the first of the kernel's
 * frames that we also have, both continue with the same functions to the
 * end. The kernel may start higher (dump_stack_lvl: it printed from inside
 * panic) but at most two frames above our first common one.
 */
export function tracesAgree(kernel: string[], ours: string[]): { ok: boolean; why: string } {
  const anchor = kernel.findIndex((f) => ours.includes(f));
  if (anchor < 0) return { ok: false, why: 'no frame in common' };
  if (anchor > 2) return { ok: false, why: `kernel frames ${kernel.slice(0, anchor).join(', ')} missing from ours` };
  const k = kernel.slice(anchor);
  const o = ours.slice(ours.indexOf(kernel[anchor]!));
  if (k.length !== o.length || k.some((f, i) => f !== o[i])) return { ok: false, why: `kernel: ${k.join(' ')}\n  ours:   ${o.join(' ')}` };
  return { ok: true, why: '' };
}
