// The name ablation of `vaat eval --ablate-names`: every name a crash's
// author or a lab chose — lock names, task names, cgroup paths, and the
// functions of loadable modules — replaced by one placeholder per kind, so a
// matcher can only tell two root causes apart by their mechanism (what the
// holder blocks in, who waits, the shape of the stacks, the machine state).
// In a fleet the lock is i_rwsem or cgroup_mutex whatever the cause: names
// say which subsystem, the mechanism says which bug. Kernel functions
// (vmlinux frames: the scheduler, mutex_lock, wait_for_completion…) are kept —
// they are the mechanism. Evaluation only: stored signatures are never ablated.

import type { Signature } from '../../../features/signature.js';
import { frameFunction } from '../../../features/trace.js';

export const PLACEHOLDER = { fn: 'modfn', lock: 'lock', task: 'task', cgroup: '/cg' } as const;

const MODULE_FRAME = /^(\S+) \[([^\]]+)\]$/;

/** A copy of the signature with every chosen name replaced (see the file comment). */
export function ablateNames(sig: Signature): Signature {
  const s = structuredClone(sig);
  // Module functions: the frame keeps its module (which module is loaded is not a name a scenario picks per
  // label), loses its function name; the same names are replaced wherever else they appear (title, guilty).
  const moduleFns = new Set<string>();
  const fnOf = (f: string): string => {
    const m = MODULE_FRAME.exec(f);
    if (!m) return f;
    moduleFns.add(frameFunction(m[1]!));
    return `${PLACEHOLDER.fn} [${m[2]}]`;
  };
  const p = s.panic;
  if (p) {
    p.frames = p.frames.map(fnOf);
    if (p.guiltyModule && p.guilty) moduleFns.add(frameFunction(p.guilty));
  }
  for (const l of s.locks?.locks ?? []) if (l.holder) l.holder.frames = l.holder.frames.map(fnOf);
  const inText = (t: string | null): string | null => {
    if (t === null) return t;
    let out = t;
    for (const fn of moduleFns) out = out.replace(new RegExp(`\\b${fn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'g'), PLACEHOLDER.fn);
    return out;
  };
  if (p) {
    p.title = inText(p.title);
    p.oops = inText(p.oops);
    p.message = inText(p.message);
    if (p.guilty && p.guiltyModule) p.guilty = PLACEHOLDER.fn;
    // A later report's title may name a module function no kept frame shows ("soft lockup in
    // lab_spinner" after a first report elsewhere): there, any function not among this signature's
    // kernel frames counts as a name.
    const kernelFns = new Set([...p.frames, ...(s.locks?.locks ?? []).flatMap((l) => l.holder?.frames ?? [])].filter((f) => !MODULE_FRAME.test(f)).map(frameFunction));
    p.followups = p.followups.map((t) => inText(t)!.replace(/ in (\S+)$/, (_m, fns: string) => ` in ${fns.split('/').map((fn) => (kernelFns.has(fn) ? fn : PLACEHOLDER.fn)).join('/')}`));
    p.comm = p.comm === null ? null : PLACEHOLDER.task;
  }
  if (s.locks) {
    for (const l of s.locks.locks) {
      if (l.name !== null) l.name = PLACEHOLDER.lock;
      if (l.holder) l.holder.comm = PLACEHOLDER.task;
      l.waiterComms = l.waiterComms.length ? [PLACEHOLDER.task] : [];
    }
    // A link reads "comm -lockname->" (a heap lock: "-lock->"), the last one just "comm".
    s.locks.chains = s.locks.chains.map((c) => ({ ...c, links: c.links.map((x) => (/ -.*->$/.test(x) ? `${PLACEHOLDER.task} -${PLACEHOLDER.lock}->` : PLACEHOLDER.task)) }));
  }
  if (s.runqueue) {
    const r = s.runqueue;
    if (r.longestRunning) r.longestRunning.comm = PLACEHOLDER.task;
    r.throttled = r.throttled.map(() => PLACEHOLDER.cgroup);
    if (r.panicCpu) r.panicCpu = { ...r.panicCpu, curr: r.panicCpu.curr === null ? null : PLACEHOLDER.task, queued: r.panicCpu.queued.map(() => PLACEHOLDER.task) };
  }
  if (s.cgroup) {
    const c = s.cgroup;
    c.hot = c.hot.map((h) => ({ ...h, path: h.path === '/' ? '/' : PLACEHOLDER.cgroup }));
    c.throttled = c.throttled.map((x) => (x === '/' ? x : PLACEHOLDER.cgroup));
    c.restricted = c.restricted.map((x) => (x === '/' ? x : PLACEHOLDER.cgroup));
  }
  if (s.cpu) s.cpu.busy = s.cpu.busy.map((b) => ({ ...b, comm: PLACEHOLDER.task }));
  return s;
}
