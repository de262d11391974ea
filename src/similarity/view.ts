// What the scorer reads of a signature: the symbolic content of every
// family, without what only a person reads (source locations, problems,
// follow-up titles). Stored beside the full document so that re-ranking 50
// candidates parses 50 small objects, not 50 documents.

import type { Signature } from '../../features/signature.js';
import { rulesVersion } from '../../features/rules.js';
import { MARKERS, frameFunction } from '../../features/trace.js';
import { stuckPrimitive } from '../../features/locks.js';
import { assertionSite, executionContext, ownFrames } from '../../features/panic.js';

/** Bump when what a view holds changes: stores re-derive their views (vaat reindex). */
export const VIEW_VERSION = 5; // 3: the crash's execution context and a stuck CPU's lock primitive (panic.context, panic.primitive); 4: the debugging check that fired (panic.check); 5: a BUG()'s site as the check, the CPUs with a state (cpu.stated)

/** What a store records as the rules of a signature: the signature rules and the view derived from them. */
export function storedRulesVersion(): string {
  return `${rulesVersion()}.v${VIEW_VERSION}`;
}

export interface SignatureView {
  kind: 'vmcore' | 'console';
  release: string | null;
  panic: {
    kind: string | null;
    title: string | null;
    guilty: string | null;
    guiltyModule: string | null;
    /** Functions of the stack, innermost first, markers kept (they say which context a frame ran in). */
    frames: string[];
    message: string | null;
    corrupted: boolean;
    /** nmi, softirq, hardirq or process (features/panic.ts executionContext); absent in views stored before version 3. */
    context?: string;
    /** A stuck CPU's lock primitive (features/locks.ts stuckPrimitive); absent when not a stuck CPU (and in views stored before version 3). */
    primitive?: string | null;
    /** The debugging check that fired (features/panic.ts check), else the site of a BUG() (assertionSite, view version 5); absent when neither (and in views stored before version 4). */
    check?: string;
  } | null;
  locks: Signature['locks'];
  runqueue: {
    ratio: number;
    /** The most tasks on one CPU's runqueue. */
    max: number;
    idleWhileOverloaded: boolean;
    idleCpus: number;
    cpus: number;
    longest: { comm: string; seconds: number } | null;
    throttled: string[];
    panicCurr: string | null;
    panicQueued: string[];
  } | null;
  cgroup: { hot: Array<{ path: string; blocked: number; running: number; throttled: boolean }>; throttled: string[]; restricted: string[] } | null;
  taint: { letters: string; inPanicStack: string[]; lockHolder: string[]; modules: string[] } | null;
  /**
   * stated: CPUs found idle or busy (view version 5). A panic without kdump stops the other CPUs and
   * clears them from cpu_online_mask (smp_send_stop), so a dump captured after it (QEMU's) counts one
   * CPU online while its other CPUs still show what they ran: the idle share is over these.
   */
  cpu: { online: number; stated?: number; noRegisters: number; idle: number; lazyTlb: number; staleTlb: number; busy: string[] } | null;
}

export function viewOf(sig: Signature): SignatureView {
  const p = sig.panic;
  const r = sig.runqueue;
  const c = sig.cgroup;
  const t = sig.taint;
  const u = sig.cpu;
  const context = p ? executionContext(p.frames) : 'process';
  const primitive = p ? stuckPrimitive(p.kind, p.frames) : undefined;
  // A check line before the report, else (view version 5) the assertion's site.
  const check = p ? p.check || assertionSite(p.oops) : null;
  return {
    kind: sig.source.kind,
    release: sig.source.release,
    panic: p && (p.title || p.frames.length)
      ? {
          kind: p.kind, title: p.title, guilty: p.guilty, guiltyModule: p.guiltyModule,
          // A crash in interrupt context: its own frames only (not what the interrupt interrupted).
          frames: ownFrames(p.frames, context).map((f) => (MARKERS.has(f) ? f : frameFunction(f))),
          message: p.message, corrupted: p.corrupted, context,
          ...(primitive === undefined ? {} : { primitive }),
          ...(check ? { check } : {}),
        }
      : null,
    locks: sig.locks,
    runqueue: r
      ? {
          ratio: r.ratio, max: r.max, idleWhileOverloaded: r.idleWhileOverloaded, idleCpus: r.idleCpus.length, cpus: r.cpus.length,
          longest: r.longestRunning ? { comm: r.longestRunning.comm.replace(/\d+/g, 'N'), seconds: r.longestRunning.seconds } : null,
          throttled: r.throttled, panicCurr: r.panicCpu?.curr ?? null, panicQueued: r.panicCpu?.queued ?? [],
        }
      : null,
    cgroup: c ? { hot: c.hot.map((h) => ({ path: h.path, blocked: h.blocked, running: h.running, throttled: h.nrThrottled > 0 })), throttled: c.throttled, restricted: c.restricted } : null,
    taint: t ? { letters: t.letters, inPanicStack: t.inPanicStack, lockHolder: t.lockHolder, modules: t.modules.map((m) => m.name) } : null,
    cpu: u ? { online: u.onlineCount, stated: u.idleCpus.length + u.busyCpus.length, noRegisters: u.noRegisters.length, idle: u.idleCpus.length, lazyTlb: u.lazyTlb.length, staleTlb: u.staleTlb.length, busy: [...new Set(u.busy.map((b) => b.comm))].sort() } : null,
  };
}

/** The key a lock's name is counted under beside the frames (no function is called "lock:…"). */
export const lockKey = (kind: string, name: string): string => `lock:${kind} ${name}`;

/**
 * The names that count for rarity (src/similarity/frames.ts rarity): the panic stack's and every
 * lock holder's functions and (scorer version 7) the contended locks' names, once each. A store
 * counts them per known issue (scorer version 8): in how many issues a name occurs.
 */
export function rarityNames(v: SignatureView): string[] {
  const out = new Set<string>();
  for (const f of v.panic?.frames ?? []) if (!MARKERS.has(f)) out.add(f);
  for (const l of v.locks?.locks ?? []) {
    for (const f of l.holder?.frames ?? []) out.add(frameFunction(f));
    if (l.name) out.add(lockKey(l.kind, l.name));
  }
  return [...out];
}
