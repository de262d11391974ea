// Console text as the title extractor reads it: one entry per line with the
// printk prefixes taken off — timestamp "[  12.345678]", caller id
// "[ T123]"/"[  C1]" — kept aside, and control bytes dropped. The caller id
// lets a report be followed through output that other CPUs interleave.

export interface ConsoleLine {
  /** Text without the printk prefixes. */
  text: string;
  /** "T123" / "C1" when the kernel printed caller ids, else null. */
  ctx: string | null;
  /** Had a printk timestamp. */
  kernel: boolean;
  /** Index in the original text. */
  index: number;
}

const PREFIX = /^(?:<\d+>)?\[\s*\d+\.\d+\](?:\[\s*([TC]\d+)\])?\s?/;

export function splitConsole(text: string): ConsoleLine[] {
  const out: ConsoleLine[] = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    // eslint-disable-next-line no-control-regex
    let l = raw[i]!.replace(/\r/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
    // A kernel line may start after user output on the same console line ("/ # [   17.8] INFO: ...").
    const mid = /\[\s*\d+\.\d{6}\](?:\[\s*[TC]\d+\])?\s/.exec(l);
    if (mid && mid.index > 0 && !PREFIX.test(l)) l = l.slice(mid.index);
    const m = PREFIX.exec(l);
    if (m) out.push({ text: l.slice(m[0].length), ctx: m[1] ?? null, kernel: true, index: i });
    else out.push({ text: l, ctx: null, kernel: false, index: i });
  }
  return out;
}

/**
 * Does the text (read as latin1) look like a binary blob rather than a
 * console log? Console logs hold some junk — user programs write NULs and
 * escape sequences to the serial line — but not a third of their bytes.
 */
export function looksBinary(text: string): boolean {
  if (!text.length) return false;
  let bad = 0;
  const n = Math.min(text.length, 65536);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (((c < 9 || (c > 13 && c < 32)) && c !== 27) || c >= 0x7f) bad++;
  }
  return bad / n > 0.3;
}
