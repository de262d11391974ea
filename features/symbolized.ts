// Symbolized reports read back into the form the kernel printed. A
// symbolizer (syzbot, scripts/decode_stacktrace.sh, most distribution bug
// trackers) adds to every frame its source location and inserts the
// functions the compiler inlined into it as lines of their own:
//
//   syzbot:              __dump_stack lib/dump_stack.c:94 [inline]
//                        dump_stack_lvl+0x116/0x1f0 lib/dump_stack.c:120
//   decode_stacktrace:   dump_stack_lvl (lib/dump_stack.c:88 lib/dump_stack.c:106)
//
// The kernel printed only "dump_stack_lvl+0x116/0x1f0". Everything that
// reads frames reads that raw form, so a symbolized report and the raw log
// of the same crash give the same frames, title and guilty function; what
// the symbolizer added is kept on the line (`src`): the frame's file:line
// and the inlined frames, innermost first, each marked inline. The same
// applies to report headers and RIP lines, which syzbot symbolizes too
// ("BUG: KASAN: ... in l2cap_conn_ready net/bluetooth/l2cap_core.c:1619
// [inline]" before the header the kernel printed).

import type { ConsoleLine } from './console.js';

export interface InlineFrame {
  /** The inlined function, null when the symbolizer gave only a location (addr2line -i without -f). */
  function: string | null;
  file: string;
  line: number | null;
}

export interface LineSource {
  /** The frame's own source location. */
  file: string | null;
  line: number | null;
  /** Functions inlined into the frame at this address, innermost first. */
  inline: InlineFrame[];
}

/** A source location as symbolizers print it: path/file.c:123 (":-1" when unknown, an optional column). */
const SRC = String.raw`[A-Za-z0-9_\-./+]*[A-Za-z0-9_\-]\.(?:c|h|S|s|rs|cc|cpp|hpp|inc|lds|y|l):-?\d+(?::\d+)?`;
/** A symbolizer-inserted inline line: "<prefix>func path/file.c:12 [inline]" (a second pass of a symbolizer appends another location). */
const INLINE_LINE = new RegExp(String.raw`^(.*?)([A-Za-z_][A-Za-z0-9_.$]*) (${SRC}) \[inline\](?: ${SRC})*\s*$`);
/**
 * The same inside a message: a "%pS" in a printed message ("Kernel panic - not syncing: %pS: Failed
 * to allocate") is symbolized like a frame, its inlined functions copied onto lines of their own
 * that repeat the message around them: "<prefix>func path/file.c:12 [inline]<rest>". Only read as
 * such when the next line is "<prefix>...<rest>" too.
 */
const INLINE_IN_TEXT = new RegExp(String.raw`^(.*?)([A-Za-z_][A-Za-z0-9_.$]*) (${SRC}) \[inline\](?: ${SRC})*(:.*)$`);
/**
 * What every pattern below needs: a source file's extension, a colon and a line number. A line
 * without it (most lines of a raw log; messages of a symbolized one) is not tried on them.
 */
const HAS_SRC = /\.(?:c|h|S|s|rs|cc|cpp|hpp|inc|lds|y|l):-?\d/;
/** "func+0x1/0x2 [mod] path/file.c:12" (syzbot): the location after the raw frame (also inside a message, before its ":"). */
const AFTER_FRAME = new RegExp(String.raw`(\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+(?: \[[A-Za-z0-9_\-]+\])?)((?: ${SRC})+)(?=[ ,;:)]|$)`);
/** decode_stacktrace.sh: "<prefix>func (a.h:1 b.c:2) [mod]" — offsets replaced by the locations, inlined ones first. */
const PAREN_FRAME = new RegExp(String.raw`^(\s*(?:\[<?[0-9a-fA-F]+>?\]\s*)?(?:\? )?|.*?(?:RIP: [0-9a-f]{4}:|IP: |pc : |lr : |PC is at |LR is at ))([A-Za-z_][A-Za-z0-9_.$]*) \(((?:${SRC} ?)+)\)((?: \[[A-Za-z0-9_\-]+\])?)\s*$`);

/** An INLINE_IN_TEXT match whose prefix and rest the next line repeats (the symbolized message it was copied from), else null. */
function inlineInText(text: string, next: string | undefined): RegExpExecArray | null {
  const m = next === undefined ? null : INLINE_IN_TEXT.exec(text);
  if (!m || m[1]!.trim() === '') return null;
  return next!.startsWith(m[1]!) && next!.endsWith(m[4]!) ? m : null;
}

const LOC = /^(.*?):(-?\d+)(?::\d+)?$/;

function parseLoc(s: string): { file: string; line: number | null } {
  const m = LOC.exec(s)!;
  const n = Number(m[2]);
  return { file: m[1]!, line: n >= 0 ? n : null };
}

/** A line's source: the frame's own location and what was inlined into it. */
function source(loc: string, inline: InlineFrame[]): LineSource {
  const m = LOC.exec(loc)!;
  const n = Number(m[2]);
  return { file: m[1]!, line: n >= 0 ? n : null, inline };
}

/** The line with new text and a source (one shape for every line made here: no spread). */
const withSource = (l: ConsoleLine, text: string, src: LineSource): ConsoleLine => ({ text, ctx: l.ctx, kernel: l.kernel, index: l.index, src });

/**
 * The lines with what symbolizers added taken out: inline lines dropped
 * (their frames go to the next line's `src.inline`), locations after frames
 * removed (into `src`). Text without symbolization comes back unchanged.
 */
export function unsymbolize(lines: ConsoleLine[]): ConsoleLine[] {
  const out: ConsoleLine[] = [];
  let pending: InlineFrame[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const sym = HAS_SRC.test(l.text);
    // Most lines carry no inline marker: the two patterns are not tried on them.
    const inl = sym && l.text.includes('[inline]') ? INLINE_LINE.exec(l.text) ?? inlineInText(l.text, lines[i + 1]?.text) : null;
    if (inl) {
      // A runaway inline chain (garbage input) is cut: 64 inlined levels are more than any compiler makes.
      if (pending.length < 64) pending.push({ function: inl[2]!, ...parseLoc(inl[3]!) });
      continue;
    }
    const a = sym ? AFTER_FRAME.exec(l.text) : null;
    if (a) {
      // Some reports went through a symbolizer twice ("a.c:12 a.c:12"): the last location is the frame's.
      const locs = a[2]!;
      out.push(withSource(l, l.text.slice(0, a.index) + a[1] + l.text.slice(a.index + a[0].length), source(locs.slice(locs.lastIndexOf(' ') + 1), pending)));
      pending = [];
      continue;
    }
    const p = sym ? PAREN_FRAME.exec(l.text) : null;
    if (p) {
      const locs = p[3]!.trim().split(/\s+/).map(parseLoc);
      const own = locs[locs.length - 1]!;
      const inline = [...pending, ...locs.slice(0, -1).map((x) => ({ function: null, ...x }))];
      out.push(withSource(l, `${p[1]}${p[2]}+0x0/0x0${p[4] ?? ''}`, { file: own.file, line: own.line, inline }));
      pending = [];
      continue;
    }
    // Inline frames belong to the frame line that follows them; anything else in between ends them.
    if (pending.length && l.text.trim() !== '') {
      out.push(withSource(l, l.text, { file: null, line: null, inline: pending }));
      pending = [];
      continue;
    }
    out.push(l);
  }
  return out;
}
