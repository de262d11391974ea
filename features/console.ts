// Console text as the title extractor reads it: one entry per line with the
// printk prefixes taken off — timestamp "[  12.345678]", caller id
// "[ T123]"/"[  C1]" — kept aside, and control bytes dropped. The caller id
// lets a report be followed through output that other CPUs interleave.
//
// Reports also arrive pasted from mail and terminals, and symbolized. Before
// the lines are read, the damage those do is undone (features/repair.ts:
// mixed CR/LF, "> " quoting, lines a mailer wrapped), and symbolized frames
// (features/symbolized.ts: "func+0x1/0x2 file.c:12", "func file.c:3
// [inline]", decode_stacktrace.sh's "func (file.c:12)") are read back into
// the raw form the kernel printed, their source locations kept on the line.

import { repairText } from './repair.js';
import { unsymbolize, type LineSource } from './symbolized.js';

export interface ConsoleLine {
  /** Text without the printk prefixes (and without symbolizer additions). */
  text: string;
  /** "T123" / "C1" when the kernel printed caller ids, else null. */
  ctx: string | null;
  /** Had a printk timestamp. */
  kernel: boolean;
  /** Position in the list splitConsole returned (lines a symbolizer added are not in it). */
  index: number;
  /** Where a symbolizer placed this line's frame in the source, and the frames inlined into it. */
  src?: LineSource;
}

const PREFIX = /^(?:<\d+>)?\[\s*\d+\.\d+\](?:\[\s*([TC]\d+)\])?\s?/;
/** A printk timestamp (and caller id) inside a line, after user output. */
const MID_PREFIX = /\[\s*\d+\.\d{6}\](?:\[\s*[TC]\d+\])?\s/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
/** A caller id without a timestamp (printk.time=0 with caller ids on). */
const CTX_ONLY = /^\[\s*([TC]\d+)\]\s/;

export function splitConsole(text: string): ConsoleLine[] {
  const out: ConsoleLine[] = [];
  const raw = repairText(text);
  // Escape sequences (ESC is one of the controls) and control bytes go; most logs have neither.
  const controls = CONTROL.test(text);
  for (let i = 0; i < raw.length; i++) {
    let l = raw[i]!;
    if (controls && CONTROL.test(l)) l = l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(CONTROLS, '');
    let m = PREFIX.exec(l);
    if (!m) {
      // A kernel line may start after user output on the same console line ("/ # [   17.8] INFO: ...").
      const mid = MID_PREFIX.exec(l);
      if (mid && mid.index > 0) {
        l = l.slice(mid.index);
        m = PREFIX.exec(l);
      }
    }
    if (m) out.push({ text: l.slice(m[0].length), ctx: m[1] ?? null, kernel: true, index: i });
    else {
      const c = CTX_ONLY.exec(l);
      if (c) out.push({ text: l.slice(c[0].length), ctx: c[1]!, kernel: true, index: i });
      else out.push({ text: l, ctx: null, kernel: false, index: i });
    }
  }
  const lines = unsymbolize(out);
  for (let i = 0; i < lines.length; i++) lines[i]!.index = i;
  return lines;
}

/** A byte a console log should not hold: controls other than tab..CR and ESC, DEL and above. */
const isControlByte = (c: number): boolean => ((c < 9 || (c > 13 && c < 32)) && c !== 27) || c >= 0x7f;

/** isControlByte as a character class (code units, as charCodeAt reads them). */
// eslint-disable-next-line no-control-regex
const CONTROL_BYTE = /[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\uffff]/;

/** The offset of the first control byte looksBinary counts, -1 when there is none. */
export function firstControlByte(text: string): number {
  const m = CONTROL_BYTE.exec(text.length > 65536 ? text.slice(0, 65536) : text);
  return m ? m.index : -1;
}

/**
 * Does the text (read as latin1) look like a binary blob rather than a
 * console log? Console logs hold some junk — user programs write NULs and
 * escape sequences to the serial line — but not a third of their bytes.
 */
export function looksBinary(text: string): boolean {
  if (!text.length) return false;
  const n = Math.min(text.length, 65536);
  // Most logs have none: the count starts at the first one.
  const first = firstControlByte(text);
  if (first < 0) return false;
  let bad = 0;
  for (let i = first; i < n; i++) if (isControlByte(text.charCodeAt(i))) bad++;
  return bad / n > 0.3;
}
