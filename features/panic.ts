// The panic family: what kind of crash this was, its syzbot-style title,
// the normalized stack of the report, the guilty frame, and who panicked.
// One code path for both inputs: a dump's own printk log is rendered as
// console text and read exactly like a dmesg/serial log, so the part built
// from a vmcore equals the part built from the console that saw it die.

import { splitConsole, looksBinary, firstControlByte, type ConsoleLine } from './console.js';
import { TitleExtractor } from './title.js';
import { readTrace, frameFunction, frameModule, MARKERS } from './trace.js';
import { normalizeTitle } from './title.js';
import type { Program } from '../src/kernel/program.js';
import { panicTask } from '../src/helpers/panic.js';
import { backtrace } from '../src/helpers/stack.js';
import { frameName } from './trace.js';
import type { LineSource } from './symbolized.js';
import { dataJson } from '../src/util/datafile.js';

export interface PanicPart {
  /** Crash class: bug, oops, page-fault, null-deref, warning, soft-lockup, hard-lockup, hung-task, rcu-stall, oom, list-corruption, divide-error, kasan, ubsan, kfence, lockdep, double-fault, sysrq, panic, ... */
  kind: string | null;
  /** syzbot-style title ("INFO: task hung in lab_waiter"), null when the text shows no crash. */
  title: string | null;
  /** The report's first line with addresses and numbers normalized. */
  oops: string | null;
  /** Text after "Kernel panic - not syncing: ", null when the kernel did not panic by message (oops straight to kdump). */
  message: string | null;
  /**
   * What a debugging check printed just before its report, addresses replaced and cut before
   * its first " (" ("list_add corruption. prev->next should be next"): which invariant broke
   * (features/data/oops.json `checks`). Absent in signatures made before it was read.
   */
  check?: string | null;
  /** Normalized frames of the report's stack, innermost first, with boundary markers (at most 48). */
  frames: string[];
  /** The stack had more frames than `frames` holds. */
  framesTruncated: boolean;
  /**
   * Where a symbolized report placed each frame (same order as `frames`; null for markers
   * and frames it did not symbolize), with the functions inlined into it. Null when the text
   * carried no symbolization: a raw and a symbolized report of one crash differ only here.
   */
  sources: Array<LineSource | null> | null;
  /** The first frame that is not generic machinery: the function that names the crash. */
  guilty: string | null;
  /** The module of the guilty frame, null for vmlinux. */
  guiltyModule: string | null;
  /** Modules that appear anywhere in the frames, sorted. */
  modules: string[];
  /** The CPU and task that called panic (or oopsed, when there was no panic call). */
  cpu: number | null;
  pid: number | null;
  comm: string | null;
  /** Titles of the reports that followed the first, in order (at most 8). */
  followups: string[];
  corrupted: boolean;
  corruptedReason: string | null;
}

export class NotAConsoleLogError extends Error {
  constructor(why: string) {
    super(`not a console log: ${why}`);
    this.name = 'NotAConsoleLogError';
  }
}

let extractor: TitleExtractor | null = null;
function titles(): TitleExtractor {
  extractor ??= new TitleExtractor();
  return extractor;
}

interface ContextRule { context: string; frames: string[]; markers?: string[] }
let contextRules: Array<{ context: string; re: RegExp; markers: string[] }> | null = null;

/**
 * The context a stack ran in — nmi, softirq, hardirq or process — from its frames
 * (features/data/families.json `contexts`): the innermost frame that enters a context decides;
 * without one, a context marker of the trace; without either, process context.
 */
export function executionContext(frames: readonly string[]): string {
  contextRules ??= dataJson<{ contexts: ContextRule[] }>('features/data/families.json').contexts.map((c) => ({
    context: c.context, re: c.frames.length ? new RegExp(c.frames.join('|')) : /(?!)/, markers: c.markers ?? [],
  }));
  for (const f of frames) {
    if (MARKERS.has(f)) continue;
    const fn = frameFunction(f);
    const hit = contextRules.find((c) => c.re.test(fn));
    if (hit) return hit.context;
  }
  const marked = contextRules.find((c) => c.markers.some((m) => frames.includes(m)));
  return marked ? marked.context : 'process';
}

let interruptEndRe: RegExp | null = null;

/**
 * A crash's own frames: for one in interrupt context, the stack up to the interrupt's entry
 * (features/data/families.json `interruptEnd`, kept), without what the interrupt interrupted.
 */
export function ownFrames(frames: string[], context: string): string[] {
  if (context === 'process') return frames;
  interruptEndRe ??= new RegExp(dataJson<{ interruptEnd: string[] }>('features/data/families.json').interruptEnd.join('|') || '(?!)');
  const end = frames.findIndex((f) => interruptEndRe!.test(MARKERS.has(f) ? f : frameFunction(f)));
  return end >= 0 ? frames.slice(0, end + 1) : frames;
}

/**
 * The part of a console log that belongs to the crashed kernel: everything
 * before the capture kernel starts booting (kdump runs print the second
 * kernel's boot right after the panic).
 */
export function crashedKernelLines(lines: ConsoleLine[]): ConsoleLine[] {
  let sawCrash = false;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.text;
    if (!sawCrash && /Kernel panic - not syncing|Oops: |BUG: |Starting crashdump kernel|INFO: task .* blocked|watchdog: BUG/.test(t)) sawCrash = true;
    else if (sawCrash && lines[i]!.kernel && /^Linux version \S+/.test(t)) return lines.slice(0, i);
  }
  return lines;
}

const CPU_LINE = /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.{1,16}?)(?: Kdump: loaded)?(?: (?:Not tainted|Tainted: )|\s*$)/;

/** The panic part of a console text (dmesg, serial log, or a dump's log rendered as text). */
export function panicFromText(text: string): PanicPart {
  if (looksBinary(text)) throw new NotAConsoleLogError(`more than 30% of the first 64 KiB are control bytes (the first at offset ${firstControlByte(text)})`);
  const lines = crashedKernelLines(splitConsole(text));
  return panicFromLines(lines);
}

let checkRes: RegExp[] | null = null;

/** The check line among the four before the report's first line (same printk context when caller ids are printed), normalized; null when there is none. */
function checkBefore(lines: ConsoleLine[], start: number): string | null {
  checkRes ??= dataJson<{ checks: string[] }>('features/data/oops.json').checks.map((c) => new RegExp(c));
  const ctx = lines[start]?.ctx ?? null;
  for (let i = start - 1; i >= 0 && i >= start - 4; i--) {
    const l = lines[i]!;
    if (ctx !== null && l.ctx !== null && l.ctx !== ctx) continue;
    const t = l.text.trim();
    if (!checkRes.some((re) => re.test(t))) continue;
    const cut = t.replace(/\b(?:0x)?[0-9a-f]{8,16}\b/gi, 'ADDR');
    const paren = cut.indexOf(' (');
    return (paren >= 0 ? cut.slice(0, paren) : cut).replace(/[.,:;\s]+$/, '').slice(0, 200);
  }
  return null;
}

let siteRes: RegExp[] | null = null;

/**
 * Where an assertion that names its place fired ("kernel BUG at mm/slub.c:419!" → "kernel BUG at
 * slub.c"), read from the report's first line (features/data/oops.json `sites`): the file without
 * its directory (an out-of-tree module prints its build path) or its line (lines move between
 * builds). Null when the report names no site.
 */
export function assertionSite(oops: string | null): string | null {
  if (!oops) return null;
  siteRes ??= dataJson<{ sites: string[] }>('features/data/oops.json').sites.map((c) => new RegExp(c));
  for (const re of siteRes) {
    const m = re.exec(oops);
    if (m) return (m[1] ? m[0].replace(m[1], '') : m[0]).slice(0, 200);
  }
  return null;
}

export function panicFromLines(lines: ConsoleLine[]): PanicPart {
  const ex = titles();
  const r = ex.extractLines(lines);
  const texts = lines.map((l) => l.text);
  const message = panicMessage(texts);
  if (!r.title) {
    return {
      kind: null, title: null, oops: null, message, frames: [], framesTruncated: false, sources: null, guilty: null, guiltyModule: null, modules: [],
      cpu: null, pid: null, comm: null, followups: [], corrupted: false, corruptedReason: null,
    };
  }
  // The report's lines (its printk context when caller ids are printed). Its trace may
  // follow a second header ("kernel BUG at" is followed by "invalid opcode:" and the trace).
  const trace = readTrace(r.report.map((l) => l.text), 0, { window: 200 });
  const frames = trace.frames;
  const srcs = trace.at.map((i) => (i >= 0 ? r.report[i]?.src ?? null : null));
  const guilty = pickGuilty(frames, r.frame, ex);
  const who = panicCaller(texts, r.start);
  const followups: string[] = [];
  let next = r.report[r.ownLength]?.index ?? -1;
  for (let k = 0; k < 8 && next > 0 && next < lines.length; k++) {
    const f = ex.extractLines(lines.slice(next));
    if (!f.title) break;
    followups.push(f.title);
    next = f.report[f.ownLength]?.index ?? -1;
  }
  return {
    kind: r.kind,
    title: r.title,
    oops: normalizeTitle(r.report[0]?.text.slice(r.report[0].text.search(/\S/)) ?? ''),
    message,
    check: checkBefore(lines, r.start),
    frames,
    framesTruncated: trace.truncated,
    sources: srcs.some((x) => x !== null) ? srcs : null,
    guilty: guilty ? frameFunction(guilty) : null,
    guiltyModule: guilty ? frameModule(guilty) : null,
    modules: [...new Set(frames.map(frameModule).filter((m): m is string => !!m))].sort(),
    cpu: who?.cpu ?? null,
    pid: who?.pid ?? null,
    comm: who?.comm ?? null,
    followups,
    corrupted: r.corrupted,
    corruptedReason: r.corruptedReason,
  };
}

/** The frame the title names, found in the trace (for its module), else the first non-generic frame. */
function pickGuilty(frames: string[], titled: string | null, ex: TitleExtractor): string | null {
  const real = frames.filter((f) => !MARKERS.has(f));
  if (titled) return real.find((f) => frameFunction(f) === titled) ?? titled;
  return real.find((f) => !ex.isGeneric(frameFunction(f))) ?? null;
}

function panicMessage(texts: string[]): string | null {
  for (const t of texts) {
    const m = /Kernel panic - not syncing: (.*)$/.exec(t);
    if (m) return m[1]!.trim();
  }
  return null;
}

/**
 * Who panicked: the "CPU: n PID: p Comm: c" line printed right after the
 * panic message, else the one of the first report (an oops that went
 * straight to kdump, or a panic that skipped its own stack dump).
 */
function panicCaller(texts: string[], reportStart: number): { cpu: number; pid: number; comm: string } | null {
  const parse = (t: string) => {
    const m = CPU_LINE.exec(t);
    return m ? { cpu: Number(m[1]), pid: Number(m[2]), comm: m[3]!.trim() } : null;
  };
  const p = texts.findIndex((t) => /Kernel panic - not syncing/.test(t));
  if (p >= 0) {
    for (let i = p + 1; i < texts.length && i <= p + 3; i++) {
      const w = parse(texts[i]!);
      if (w) return w;
    }
  }
  for (let i = Math.max(0, reportStart); i < texts.length && i < reportStart + 60; i++) {
    const w = parse(texts[i]!);
    if (w) return w;
  }
  return null;
}

/**
 * The panic part from the dump's registers alone, for a dump whose log
 * holds no crash report (ring buffer overwritten, log pages excluded): the
 * panic task's stack from where panic() was called, the kdump path above
 * it left out, exception frames marked <EXC>. No report, so no title.
 */
export function panicFromStack(prog: Program): PanicPart | null {
  const task = panicTask(prog);
  if (!task) return null;
  const bt = backtrace(prog, task);
  const raw = bt.frames.filter((f) => f.reliable && f.function);
  const where = (st: string) => (/^IRQ/.test(st) ? 'IRQ' : /^NMI/.test(st) ? 'NMI' : null);
  // From panic() on, as the kernel prints its panic trace. When panic() came from an oops
  // (oops_end, die) or there is no panic frame (an oops that went straight to kdump), the
  // trace the kernel printed starts at the faulting frame: the first one an exception interrupted.
  let start = raw.findIndex((f) => f.function === 'panic');
  const exc = raw.findIndex((f) => f.exception);
  const viaOops = start >= 0 && exc > start && raw.slice(start + 1, exc).some((f) => /^(oops_end|die|do_trap|page_fault_oops)$/.test(f.function!));
  if ((start < 0 || viaOops) && exc >= 0) start = exc;
  if (start < 0) start = 0;
  const kept: string[] = [];
  let prev: string | null = null;
  for (let i = start; i < raw.length && kept.length < 48; i++) {
    const f = raw[i]!;
    const here = where(f.stack);
    const name = frameName(f.function!, f.module);
    if (i === start) {
      // The faulting frame is printed as the RIP line, before the trace's own <IRQ>.
      if (start === exc) kept.push(name, ...(here ? [`<${here}>`] : []));
      else kept.push(...(here ? [`<${here}>`] : []), name);
      prev = here;
      continue;
    }
    if (here !== prev) {
      if (prev) kept.push(`</${prev}>`);
      if (here) kept.push(`<${here}>`);
    }
    if (f.exception) kept.push('<EXC>');
    kept.push(name);
    prev = here;
  }
  const guilty = pickGuilty(kept, null, titles());
  return {
    kind: null, title: null, oops: null, message: null, frames: kept, framesTruncated: kept.length >= 48 && raw.length - start > 48, sources: null,
    guilty: guilty ? frameFunction(guilty) : null, guiltyModule: guilty ? frameModule(guilty) : null,
    modules: [...new Set(kept.map(frameModule).filter((m): m is string => !!m))].sort(),
    cpu: bt.cpu, pid: bt.pid, comm: bt.comm, followups: [],
    corrupted: true, corruptedReason: 'the kernel log holds no crash report: frames from the panic task\'s stack',
  };
}
