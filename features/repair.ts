// Undo what mail and terminals do to a console report before it is read:
// mixed line endings (CR LF, LF CR, a lone CR), "> " quoting, and lines a
// mailer wrapped at a fixed width (greedy word wrap: a line is broken before
// the first word that would not fit, and the space at the break is eaten).
//
// Wrapping is detected, not assumed: the text must look wrapped — no line
// longer than 100 columns and several lines filled to within a word of the
// widest one — and a line is joined to the one before it only when it cannot
// be a line of its own: its first word would not have fitted on the previous
// line, it does not start with indentation (frames do) and it does not start
// the way a kernel line starts (a timestamp in a timestamped log, a report
// header, a register dump, ...). Text that was never wrapped is not touched.

/** Beginnings of lines the kernel prints at column 0 (after the printk prefix). */
const LINE_START = new RegExp('^(?:' + [
  String.raw`\[\s*\d+\.\d+\]`, String.raw`\[\s*[TC]\d+\]`, String.raw`<\d>`,
  'CPU: ', 'CPU\\d', 'Hardware name', 'Call Trace', 'Call trace', 'RIP: ', 'IP: ', 'RSP: ', 'RAX: ', 'RDX: ', 'RBP: ', 'R\\d\\d: ', 'FS: ', 'CS: ', 'CR2: ', 'DR\\d: ',
  'Code: ', 'Modules linked in', 'Kernel panic', 'Kernel Offset', 'Rebooting', 'BUG', 'WARNING', 'INFO: ', 'Oops', 'Unable to handle', 'general protection',
  'kernel BUG', 'stack segment', 'divide error', 'invalid opcode', 'UBSAN', 'KASAN', 'KMSAN', 'KCSAN', 'KFENCE', 'PANIC',
  '---', '===', '<TASK>', '</TASK>', '<IRQ>', '</IRQ>', '<NMI>', '</NMI>', '<EOI>',
  'Allocated by', 'Freed by', 'Last potentially', 'Second to last', 'The buggy address', 'Memory state', 'Read of size', 'Write of size', 'Read at addr', 'Write at addr', 'Pointer tag',
  'Workqueue: ', 'Tainted: ', 'irq event stamp', 'hardirqs ', 'softirqs ', 'other info', 'Possible unsafe', 'stack backtrace', 'Showing all locks',
  '\\d+ locks? held', '#\\d+: ', '-> #\\d+', 'Chain exists', 'page:', 'page_type:', 'flags:', 'raw: ', 'page dumped', 'page_owner',
  'Object ', 'Redzone ', 'Padding ', 'pc : ', 'lr : ', 'sp : ', 'x\\d+: ', 'NMI backtrace', 'Sending NMI', 'rcu: ', 'watchdog: ', 'Mem-Info', 'Node \\d',
].join('|') + ')');

/**
 * The longest line read: the kernel prints at most 1024 bytes a record (LOG_LINE_MAX), so a longer
 * line is garbage or pasted data, and would only make the line patterns slow.
 */
export const MAX_LINE = 4096;

/** Lines with their endings and quoting normalized and mailer wrapping undone. */
export function repairText(text: string): string[] {
  let lines = text.replace(/\r+\n/g, '\n').replace(/\n\r+/g, '\n').replace(/\r/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) if (lines[i]!.length > MAX_LINE) lines[i] = lines[i]!.slice(0, MAX_LINE);
  lines = unquote(lines);
  return unwrap(lines);
}

/** Mail quoting ("> ", "> > ", ">> ") taken off when most lines carry it. */
function unquote(lines: string[]): string[] {
  const nonEmpty = lines.filter((l) => l.trim() !== '');
  const quoted = nonEmpty.filter((l) => l.startsWith('>'));
  if (!nonEmpty.length || quoted.length < nonEmpty.length * 0.5) return lines;
  return lines.map((l) => l.replace(/^(?:> ?)+/, ''));
}

/**
 * Lines that cannot stand on their own: a source location or "[inline]" at
 * the start of a line (a symbolized frame split from its function), or a
 * function with its offset at column 0 (a frame split from the header that
 * named it: "WARNING: CPU: 0 PID: 1 at net/core/dev.c:123" / "func+0x1/0x2").
 */
const CONTINUATION = /^(?:[A-Za-z0-9_\-./+]*[A-Za-z0-9_\-]\.(?:c|h|S|rs):-?\d+|\[inline\]|[A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+)/;
const STAMP = /^\[\s*\d+\.\d+\]/;

/**
 * The width the text was wrapped at, or null when it was not wrapped: 98 %
 * of the lines fit in at most 100 columns (a mailer leaves a word longer
 * than the line alone), and at least one line that cannot stand alone
 * follows a line its first word did not fit on (in a timestamped log, a line
 * without a timestamp after a full one counts too).
 */
export function wrapWidth(lines: string[]): number | null {
  const lens = lines.filter((l) => l.trim() !== '').map((l) => l.length).sort((a, b) => a - b);
  if (lens.length < 3) return null;
  const w = lens[Math.min(lens.length - 1, Math.ceil(lens.length * 0.98) - 1)]!;
  if (w < 60 || w > 100) return null;
  const stamped = isStamped(lines);
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const prev = lines[i - 1]!;
    if (!l.trim() || !prev.trim() || !couldNotFit(prev, l, w)) continue;
    if (CONTINUATION.test(l) || (stamped && STAMP.test(prev) && !STAMP.test(l))) return w;
  }
  return null;
}

function isStamped(lines: string[]): boolean {
  return lines.filter((l) => STAMP.test(l)).length >= lines.filter((l) => l.trim() !== '').length * 0.5;
}

/** A greedy wrapper breaks a line only before a word that would not fit. */
function couldNotFit(prev: string, l: string, w: number): boolean {
  const word = /^\s*(\S+)/.exec(l)?.[1] ?? '';
  return prev.length + 1 + word.length > w;
}

function unwrap(lines: string[]): string[] {
  const w = wrapWidth(lines);
  if (w === null) return lines;
  const stamped = isStamped(lines);
  const out: string[] = [];
  let prev: string | null = null; // the previous physical line: what the wrapper saw
  for (const l of lines) {
    // In a timestamped log every kernel line has its stamp; elsewhere a continuation has no
    // indentation (frames have) and does not start the way kernel lines start.
    const own = stamped ? STAMP.test(l) : /^\s/.test(l) || (LINE_START.test(l) && !CONTINUATION.test(l));
    // A line that could stand alone joins only a full line (a greedy wrapper fills lines to
    // within a word of the width); a line that cannot (a bare source location) joins any.
    const full = prev !== null && (prev.length >= w - 15 || CONTINUATION.test(l));
    if (prev !== null && prev.trim() !== '' && l.trim() !== '' && !own && full && couldNotFit(prev, l, w)) {
      out[out.length - 1] = `${out[out.length - 1]} ${l.trimStart()}`;
    } else out.push(l);
    prev = l;
  }
  return out;
}
