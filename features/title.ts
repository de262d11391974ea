// Crash titles from console text, table-driven in the manner of syzkaller's
// pkg/report: find the first line that opens a crash report (a header in
// features/data/oops.json), take the first format of that header whose
// title pattern matches, and fill its template — with the frame that names
// the crash, chosen from the report's stack by the rules in
// features/data/frames.json. Titles are then made stable (addresses, line
// numbers, counters become ADDR, LINE, NUM) so that two reports of one bug
// read alike.

import { dataJson } from '../src/util/datafile.js';
import { splitConsole, type ConsoleLine } from './console.js';
import { isGenericFrame } from './generic.js';
import { foldSuffix } from './trace.js';

interface StackSpec {
  /** Patterns found in order; {{FUNC}} captures are candidate frames; "{{STACK}}" reads a call trace. */
  parts: string[];
  /** Tried when `parts` finds no frame. */
  parts2?: string[];
  /** Tried when neither finds one (truncated reports). */
  parts3?: string[];
  /** Extra frames to pass over for this format. */
  skip?: string[];
  /** 'stall' (soft lockups, RCU stalls) or 'hang' (hung tasks) choose differently from the default. */
  extractor?: 'stall' | 'hang';
  /** A frame listed in frames.json warningCompound is named with its caller ("submit_rx_urb/usb_submit_urb"). */
  compound?: boolean;
}

interface Format {
  title: string;
  fmt: string;
  /** Title when no frame can be found (default: {FRAME} becomes "corrupted"). */
  fmtCorrupted?: string;
  kind: string;
  stack?: StackSpec;
  /** The report is always corrupted (e.g. a title with no frame where one belongs). */
  corrupted?: boolean;
}

interface Oops {
  header: string;
  /** A regular expression to use instead of the literal header (SLUB's "BUG kmalloc-8 (...)"). */
  headerRegex?: string;
  suppress?: string[];
  formats: Format[];
}

interface FramesData {
  syscallPrefixes: string[];
  stallSkip: string[];
  stallSelfNaming: string[];
  stallAnchors: string[];
  stallBuckets: Array<[string, string]>;
  hangBuckets: Array<[string, string]>;
  hangSkip: string[];
  warningCompound: string[];
  followupHeaders: string[];
}

export interface TitleResult {
  /** syzbot-style title, or null when the text shows no crash. */
  title: string | null;
  /** Our crash kind (bug, oops, page-fault, warning, hung-task, soft-lockup, rcu-stall, ...). */
  kind: string | null;
  /** The frame the title names, when it names one. */
  frame: string | null;
  corrupted: boolean;
  /** Why the report was judged corrupted. */
  corruptedReason: string | null;
  /** Index (in the split console) of the line that opened the report. */
  start: number;
  /** The report's lines (same printk context as its first line where the log has caller ids). */
  report: ConsoleLine[];
  /** How many of `report`'s lines are this report's own (the rest follow a later report header). */
  ownLength: number;
}

const FUNC = '([a-zA-Z0-9_]+)(?:\\.|\\+|\\s|$)';
const PC = '\\[<?(?:0x)?[0-9a-fA-F]+>?\\]';
const SRC = '(?:[a-zA-Z0-9\\-_/.]+\\.[a-z]+:[0-9]+)';

function expand(re: string): string {
  return re.replace(/\{\{FUNC\}\}/g, FUNC).replace(/\{\{PC\}\}/g, PC).replace(/\{\{SRC\}\}/g, SRC).replace(/\{\{ADDR\}\}/g, '0x[0-9a-fA-F]+');
}

// A line that is a stack frame: optional [<pc>], optional "? ", name+0xoff/0xsize (x86, arm64), or
// arm's "[<pc>] (func) from [<pc>] (caller)", or "func from caller".
const FRAME_RE = /^\s*(?:\[\s*[0-9]+\]\s+)?(?:\[<?(?:0x)?[0-9a-fA-F]+>?\]\s*){0,2}(?:<EOI>\s*|<IRQ>\s*)?(\?\s+)?([A-Za-z0-9_.$<>:]+?)(?:\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+| [A-Za-z0-9_\-/.]+\.[a-z]+:[0-9]+ \[inline\])/;
const ARM_FRAME_RE = /^\s*\[<[0-9a-fA-F]+>\]\s+\(([A-Za-z0-9_.]+)\)\s+from\s+\[<[0-9a-fA-F]+>\]\s+\(([A-Za-z0-9_.]+)/;
const RIP_RES = [
  /RIP: 0010:(?:\[<[0-9a-f]+>\]\s+\[<[0-9a-f]+>\]\s+)?([A-Za-z0-9_.]+)\+0x/,
  /^IP: (?:\[<[0-9a-f]+>\]\s+)?([A-Za-z0-9_.]+)\+0x/,
  /^pc : ([A-Za-z0-9_.]+)\+0x/,
  /^PC is at ([A-Za-z0-9_.]+)\+0x/,
  /^NIP \[[0-9a-f]+\] ([A-Za-z0-9_.]+)\+0x/,
  /^epc\s*: ([A-Za-z0-9_.]+)\+0x/,
];
/** Interrupt boundaries parseStack keeps in its frame list (the stall rule reads them). */
const STACK_MARKERS = new Set(['<IRQ>', '</IRQ>', '<NMI>', '</NMI>', '<SOFTIRQ>', '</SOFTIRQ>']);
const STACK_END = /^(---\[ end |Kernel panic|Kernel Offset|Rebooting in|Dumping ftrace|Modules linked in|Showing all locks|NMI backtrace|Sending NMI|=====|-----|The buggy address|Memory state|Allocated by|Freed by|INFO: |BUG: |WARNING: |irq event stamp|Disabling lock debugging|ODEBUG|Object at|Last potentially|Second to last|other info that might help)/;

function funcName(raw: string): string {
  // "foo.isra.3", "foo.cold", "foo.constprop.0" are foo; mangled names are demangled.
  return foldSuffix(raw.replace(/^\./, ''));
}

export class TitleExtractor {
  private oopses: Array<Oops & { headerRe: RegExp; suppressRe: RegExp[]; formatsRe: Array<Format & { re: RegExp }> }>;
  private frames: FramesData;
  private stallSkipRe: RegExp;
  private stallSelfRe: RegExp;
  private stallAnchorRe: RegExp;
  private hangSkipRe: RegExp;
  private followRe: RegExp;
  /** Any oops header at all: one test a line, before the per-oops matching (most lines open nothing). */
  private anyHeaderRe: RegExp;

  constructor() {
    const table = dataJson<{ oopses: Oops[] }>('features/data/oops.json');
    this.oopses = table.oopses.map((o) => ({
      ...o,
      // A one-word header (BUG:) must not be the tail of another word (ODEBUG:).
      headerRe: o.headerRegex ? new RegExp(o.headerRegex) : new RegExp((/^[A-Z]+:$/.test(o.header) ? '(?<![A-Za-z0-9_])' : '') + o.header.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      suppressRe: (o.suppress ?? []).map((s) => new RegExp(s)),
      formatsRe: o.formats.map((f) => ({ ...f, re: new RegExp('^' + expand(f.title)) })),
    }));
    this.frames = dataJson<FramesData>('features/data/frames.json');
    this.stallSkipRe = new RegExp(this.frames.stallSkip.join('|') || '^$');
    this.stallSelfRe = new RegExp(this.frames.stallSelfNaming.join('|') || '^$');
    this.stallAnchorRe = new RegExp(this.frames.stallAnchors.join('|'));
    this.hangSkipRe = new RegExp(this.frames.hangSkip.join('|'));
    this.followRe = new RegExp(this.frames.followupHeaders.join('|'));
    this.anyHeaderRe = new RegExp(this.oopses.map((o) => `(?:${o.headerRe.source})`).join('|'));
  }

  stripSyscall(frame: string): string {
    for (const p of this.frames.syscallPrefixes) if (frame.startsWith(p) && frame.length > p.length) return frame.slice(p.length);
    return frame;
  }

  /** Find the first crash report in the text and title it. */
  extract(text: string): TitleResult {
    const lines = splitConsole(text);
    return this.extractLines(lines);
  }

  extractLines(lines: ConsoleLine[]): TitleResult {
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!.text;
      if (!this.anyHeaderRe.test(l)) continue;
      for (const o of this.oopses) {
        const m = o.headerRe.exec(l);
        if (!m) continue;
        const from = l.slice(m.index);
        if (o.suppressRe.some((r) => r.test(from))) continue;
        const report = this.reportLines(lines, i);
        // The report ends where another crash report begins.
        const end = report.findIndex((x, k) => k > 0 && this.opensReport(x.text));
        const own = end > 0 ? report.slice(0, end) : report;
        // Titles are matched within the report; frames may come after a follow-up header
        // ("kernel BUG at" is followed by "invalid opcode:" and then the RIP line).
        const titleBody = [from, ...own.slice(1).map((x) => x.text)].join('\n');
        const body = [from, ...report.slice(1).map((x) => x.text)].join('\n');
        for (const f of o.formatsRe) {
          const tm = f.re.exec(titleBody);
          if (!tm) continue;
          const built = this.build(f, tm, body, report, i);
          // Two CPUs printing at once (no caller ids to tell them apart): another report
          // opens before this one printed a single frame, and it is not one of the headers
          // that legitimately interrupt a report before its trace (the panic that
          // panic_on_warn raises, "invalid opcode" after "kernel BUG at", ...).
          if (!built.corrupted && end > 0 && !own.some((x) => FRAME_RE.test(x.text) || ARM_FRAME_RE.test(x.text)) && !this.followRe.test(report[end]!.text)) {
            built.corrupted = true;
            built.corruptedReason = `another report ("${report[end]!.text.slice(0, 60)}") began before this one's stack trace: interleaved output`;
          }
          return { ...built, ownLength: own.length };
        }
      }
    }
    return { title: null, kind: null, frame: null, corrupted: false, corruptedReason: null, start: -1, report: [], ownLength: 0 };
  }

  /** Does this line open a crash report (a header that is not suppressed)? */
  private opensReport(text: string): boolean {
    if (!this.anyHeaderRe.test(text)) return false;
    for (const o of this.oopses) {
      const m = o.headerRe.exec(text);
      if (!m) continue;
      const from = text.slice(m.index);
      if (o.suppressRe.some((r) => r.test(from))) continue;
      if (o.formatsRe.some((f) => f.re.test(from))) return true;
    }
    return false;
  }

  /** The report: up to 2000 lines from the header, following its printk context when the log records one. */
  private reportLines(lines: ConsoleLine[], start: number): ConsoleLine[] {
    const ctx = lines[start]!.ctx;
    const out: ConsoleLine[] = [];
    for (let j = start; j < lines.length && out.length < 2000; j++) {
      const l = lines[j]!;
      if (ctx && l.ctx && l.ctx !== ctx) continue;
      out.push(l);
    }
    return out;
  }

  /** Is this function one of the generic ones that never name a crash? */
  isGeneric(fn: string): boolean {
    return isGenericFrame(fn);
  }

  private build(f: Format & { re: RegExp }, tm: RegExpExecArray, body: string, report: ConsoleLine[], start: number): Omit<TitleResult, 'ownLength'> {
    let frame: string | null = null;
    let corruptedReason: string | null = f.corrupted ? 'the report format carries too little to trust' : null;
    const needsFrame = f.fmt.includes('{FRAME}');
    if (needsFrame && f.stack) {
      const r = this.findFrame(f.stack, body);
      frame = r.frame;
      if (!frame) corruptedReason ??= r.why ?? 'no usable stack frame';
      // A report with no call trace at all cannot be trusted, even when a frame was named.
      else if (!this.parseStack(body, 0).some((f) => !STACK_MARKERS.has(f))) corruptedReason ??= 'the report has no stack trace';
    }
    const fmt = needsFrame && !frame && f.fmtCorrupted ? f.fmtCorrupted : f.fmt;
    let title = fmt.replace(/\$(\d)/g, (_, n: string) => funcOrText(tm[Number(n)] ?? ''));
    if (needsFrame) title = title.replace('{FRAME}', frame ? this.stripSyscall(frame) : 'corrupted');
    title = normalizeTitle(title);
    if (/\[\s*\d+\.\d+\]/.test(tm[0])) corruptedReason ??= 'a timestamp inside the title line (interleaved output)';
    return { title, kind: f.kind, frame, corrupted: corruptedReason !== null, corruptedReason, start, report };
  }

  /**
   * Candidate frames from the stack parts, in order: functions the parts
   * capture, then the frames of the call trace a {{STACK}} part reads. The
   * first candidate that is not a generic function names the crash.
   */
  private findFrame(spec: StackSpec, body: string): { frame: string | null; why?: string; sawStack: boolean } {
    let sawStack = false;
    const collect = (parts: string[]): string[] => {
      let pos = 0;
      const candidates: string[] = [];
      for (const part of parts) {
        if (part === '{{STACK}}') {
          const frames = this.parseStack(body, pos);
          if (frames.some((f) => !STACK_MARKERS.has(f))) sawStack = true;
          candidates.push(...frames);
          break;
        }
        if (part === '{{RIP}}') {
          const lines = body.slice(pos).split('\n');
          for (let k = 0; k < lines.length && k < 80; k++) {
            const hit = RIP_RES.map((re) => re.exec(lines[k]!.trim())).find(Boolean);
            if (hit) {
              candidates.push(funcName(hit[1]!));
              pos += lines.slice(0, k + 1).join('\n').length + 1;
              break;
            }
          }
          continue;
        }
        const m = new RegExp(expand(part), 'm').exec(body.slice(pos));
        if (!m) break;
        for (let g = 1; g < m.length; g++) if (m[g] && !/^(?:0x)?[0-9a-f]{8,}$/.test(m[g]!)) candidates.push(funcName(m[g]!));
        pos += m.index + m[0].length;
      }
      return candidates;
    };
    const extra = spec.skip?.length ? new RegExp(spec.skip.join('|')) : null;
    const skip = (fr: string) => isGenericFrame(fr) || (extra?.test(fr) ?? false);
    for (const parts of [spec.parts, spec.parts2, spec.parts3].filter(Boolean) as string[][]) {
      const frames = collect(parts).filter((f) => !STACK_MARKERS.has(f));
      const fr = frames.length ? this.choose(frames, spec.extractor, skip, !!spec.compound) : null;
      if (fr) return { frame: fr, sawStack: sawStack || parts.every((p) => p !== '{{STACK}}') };
    }
    return { frame: null, why: sawStack ? 'no frame left after skipping generic functions' : 'no stack trace in the report', sawStack };
  }

  private choose(frames: string[], extractor: StackSpec['extractor'], skip: (f: string) => boolean, compound = false): string | null {
    if (extractor === 'stall') {
      // The frame just above the first dispatcher (syscall entry, VFS, socket, netlink, timer or
      // softirq dispatch ...) says which entry point the looping code was reached from; when the
      // first real frame is itself one, it names itself.
      let prev: string | null = null;
      for (const f of frames) {
        if (this.stallAnchorRe.test(f)) {
          if (prev) return prev;
          if (this.stallSelfRe.test(f)) return f;
          continue;
        }
        if (skip(f) || this.stallSkipRe.test(f)) continue;
        if (prev === null) for (const [re, name] of this.frames.stallBuckets) if (new RegExp(re).test(f)) return name;
        prev = f;
      }
      return null;
    }
    if (extractor === 'hang') {
      // Hangs show up on victims' stacks; two causes are named by their bucket wherever they
      // appear in the stack (rtnl_lock, and the RCU grace-period waits), the rest by the first
      // frame that is not waiting machinery.
      for (const [re, name] of this.frames.hangBuckets) if (frames.some((f) => new RegExp(re).test(f))) return name;
      return frames.find((f) => !this.hangSkipRe.test(f) && !skip(f)) ?? null;
    }
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      // Warnings in a few shared helpers are named with their caller too ("submit_rx_urb/usb_submit_urb").
      if (compound && this.frames.warningCompound.includes(f)) return `${frames.slice(i + 1).find((x) => !skip(x)) ?? 'corrupted'}/${f}`;
      if (!skip(f)) return f;
    }
    return null;
  }

  /** Frames of the first call trace at or after `pos`: reliable ones only ("?" entries dropped). */
  parseStack(body: string, pos: number): string[] {
    let lines = body.slice(pos).split('\n');
    // A call trace starts at its marker when there is one nearby: frames quoted before it
    // ("Preemption disabled at:", lock lists) are not the stack.
    const marker = lines.findIndex((l, i) => i < 120 && /^\s*(Call [Tt]race|backtrace(?: \(crc [0-9a-f]+\))?|stack backtrace):?\s*$/.test(l));
    const firstFrame = lines.findIndex((l) => FRAME_RE.test(l));
    if (marker >= 0 && (firstFrame < 0 || marker < firstFrame || lines.slice(0, marker).filter((l) => FRAME_RE.test(l)).length <= 2)) lines = lines.slice(marker + 1);
    const frames: string[] = [];
    let started = false;
    let gap = 0;
    for (const raw of lines) {
      const l = raw.replace(/\s+$/, '');
      const arm = ARM_FRAME_RE.exec(l);
      const m = arm ? null : FRAME_RE.exec(l);
      if (arm || m) {
        if (m?.[1] || /\(unreliable\)$/.test(l)) continue; // "? func", "(unreliable)": the kernel itself is not sure
        const name = funcName(arm ? arm[1]! : m![2]!);
        if (name && /^[A-Za-z_<]/.test(name) && !/^0x[0-9a-f]+$/i.test(name) && frames[frames.length - 1] !== name) frames.push(name);
        // arm's "(callee) from (caller)": the caller of the last line is a frame of its own.
        if (arm?.[2] && !/^0x[0-9a-f]+$/i.test(arm[2])) frames.push(funcName(arm[2]));
        started = true;
        gap = 0;
        continue;
      }
      const bound = /^\s*(<\/?(?:IRQ|NMI|SOFTIRQ)>)\s*$/.exec(l);
      if (bound) {
        frames.push(bound[1]!);
        continue;
      }
      // powerpc: "--- interrupt: 700 at func+0x2c/0x70" is the frame that trapped.
      const ppc = /^\s*--- interrupt: [0-9a-f]+ at ([A-Za-z0-9_.]+)\+0x/.exec(l);
      if (ppc) {
        frames.push(funcName(ppc[1]!));
        started = true;
        continue;
      }
      if (/RIP: 0010:|^\s*pc : |^\s*PC is at /.test(l)) {
        for (const re of RIP_RES) {
          const r = re.exec(l.trim());
          if (r) {
            frames.push(funcName(r[1]!));
            started = true;
            break;
          }
        }
        continue;
      }
      if (started && STACK_END.test(l.trim())) break;
      if (started && /RIP: 0033:|^\s*\[<[0-9a-f]+>\] 0x[0-9a-f]+$/.test(l)) break;
      if (!started && ++gap > 60) break;
    }
    return frames;
  }
}

/** A captured function ("foo.isra.0+0x10/0x20") becomes its name; other text stays. */
function funcOrText(s: string): string {
  return /^[A-Za-z0-9_]+\.(isra|constprop|cold|part)/.test(s) ? funcName(s) : s;
}

/**
 * Make a title stable across reports of one bug, as syzkaller's titles are:
 * func+0x1/0x2 → func, file.c:123 → file.c:LINE, long hex → ADDR, IPv4 → IP,
 * syz-executor7 → syz-executor, CPU#1 → CPU, bare numbers → NUM.
 */
export function normalizeTitle(t: string): string {
  let s = t
    .replace(/([A-Za-z0-9_]+)\+0x[0-9a-f]+\/0x[0-9a-f]+/g, '$1')
    .replace(/(\.[a-z]+):\d+(?::\d+)?/g, '$1:LINE')
    .replace(/\b(?:0x)?[0-9a-fA-F]{6,}\b/g, (m) => (/^\d+$/.test(m) && m.length < 7 ? m : 'ADDR'))
    .replace(/\d{7,}/g, 'NUM')
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g, 'IP')
    .replace(/syz-executor[.\d]*\d/g, 'syz-executor')
    .replace(/CPU#\d+/g, 'CPU')
    .replace(/(^|[^A-Za-z0-9_.\-#])\d+(?=$|[^A-Za-z0-9_])/g, '$1NUM');
  s = s.replace(/[\x00-\x1f]/g, ' ').replace(/\s+/g, ' ').trim();
  return s.length > 120 ? s.slice(0, 120) : s;
}
