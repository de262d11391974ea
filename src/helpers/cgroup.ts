// Control groups: every hierarchy (cgroup v2's default root and each v1
// root on cgroup_roots), each cgroup's path (from kernfs names), its tasks
// (through its css_set links), and what its controllers say: cpuset
// cpus/mems, cpu weight and CFS bandwidth, memory usage/limit.

import type { Program } from '../kernel/program.js';
import type { KObject } from '../kernel/object.js';
import { listForEachEntry } from '../kernel/iter.js';
import { Problems, attempt } from '../kernel/problems.js';
import { cpumaskCpus, cpuList } from '../kernel/cpumask.js';
import { strip } from '../kernel/types.js';
import { forEachTask, taskStateLetter } from './tasks.js';

/** cgroup path from kernfs: names of kn and its parents ("/" for a root). */
export function cgroupPath(cgrp: KObject): string {
  const parts: string[] = [];
  let kn = cgrp.member('kn');
  for (let i = 0; i < 256 && !kn.isNull(); i++) {
    const parent = kn.member('parent');
    if (parent.isNull()) break; // the root's own name is the hierarchy's, not part of paths
    parts.unshift(kn.member('name').string(256));
    kn = parent;
  }
  return '/' + parts.join('/');
}

/** Subsystem ids from BTF (enum cgroup_subsys_id): cpuset_cgrp_id, cpu_cgrp_id, ... */
export function subsysIds(prog: Program): Map<string, number> {
  const cached = prog.cache.get('cgroup:ssids') as Map<string, number> | undefined;
  if (cached) return cached;
  const m = new Map<string, number>();
  try {
    const e = strip(prog.type('enum cgroup_subsys_id'));
    if (e.kind === 'enum') for (const v of e.values) if (v.name.endsWith('_cgrp_id')) m.set(v.name.slice(0, -'_cgrp_id'.length), Number(v.value));
  } catch {
    // no BTF enum: no controller data
  }
  prog.cache.set('cgroup:ssids', m);
  return m;
}

/** cgrp->subsys[id] (a struct cgroup_subsys_state *), or null. */
export function cgroupCss(cgrp: KObject, subsys: string): KObject | null {
  const id = subsysIds(cgrp.prog).get(subsys);
  if (id === undefined) return null;
  const css = cgrp.member('subsys').index(id);
  return css.isNull() ? null : css.deref();
}

export interface CgroupRoot {
  id: number;
  name: string;
  /** 'v2' for the default hierarchy. */
  version: 'v1' | 'v2';
  controllers: string[];
  cgrp: KObject;
}

export function cgroupRoots(prog: Program, problems = new Problems()): CgroupRoot[] {
  const ids = subsysIds(prog);
  const names = [...ids.entries()].sort((a, b) => a[1] - b[1]);
  const dfl = prog.symbol('cgrp_dfl_root');
  const out: CgroupRoot[] = [];
  for (const root of listForEachEntry(prog.object('cgroup_roots'), 'struct cgroup_root', 'root_list', { problems, context: 'cgroup_roots', limit: 64 })) {
    try {
      const mask = root.member('subsys_mask').num();
      out.push({
        id: root.member('hierarchy_id').num(),
        name: root.member('name').string(),
        version: root.address === dfl ? 'v2' : 'v1',
        controllers: names.filter(([, id]) => (mask >> id) & 1).map(([n]) => n),
        cgrp: root.member('cgrp'),
      });
    } catch (e) {
      problems.fromError(e, `cgroup root ${root.hex()}`);
    }
  }
  // The default root is on the list from boot; make sure it is there even if the list is torn.
  if (!out.some((r) => r.version === 'v2')) {
    const r = prog.object('cgrp_dfl_root');
    out.unshift({ id: 0, name: '', version: 'v2', controllers: [], cgrp: r.member('cgrp') });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Children of a cgroup (css->children through css->sibling). */
export function cgroupChildren(cgrp: KObject, problems = new Problems()): KObject[] {
  const out: KObject[] = [];
  for (const css of listForEachEntry(cgrp.member('self').member('children'), 'struct cgroup_subsys_state', 'sibling', { problems, context: `children of ${cgrp.hex()}`, limit: 100000 })) {
    out.push(css.member('cgroup').deref());
  }
  return out;
}

/** Pre-order walk of a hierarchy, bounded. */
export function cgroupDescendants(root: KObject, problems = new Problems(), limit = 100000): KObject[] {
  const out: KObject[] = [];
  const seen = new Set<bigint>();
  const stack: KObject[] = [root];
  while (stack.length && out.length < limit) {
    const c = stack.pop()!;
    if (seen.has(c.address!)) {
      problems.add('cgroup visited twice: the hierarchy is torn', c.address, 'cgroup walk');
      continue;
    }
    seen.add(c.address!);
    out.push(c);
    const kids = attempt(problems, `children of ${c.hex()}`, () => cgroupChildren(c, problems), []);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return out;
}

/** Tasks attached to a cgroup: the tasks of every css_set linked to it. */
export function cgroupTasks(cgrp: KObject, problems = new Problems()): KObject[] {
  const out: KObject[] = [];
  for (const link of listForEachEntry(cgrp.member('cset_links'), 'struct cgrp_cset_link', 'cset_link', { problems, context: 'cgroup css_set links', limit: 100000 })) {
    const cset = link.member('cset').deref();
    for (const list of ['tasks', 'mg_tasks']) {
      for (const t of listForEachEntry(cset.member(list), 'struct task_struct', 'cg_list', { problems, context: `css_set ${cset.hex()} ${list}`, limit: 1 << 20 })) out.push(t);
    }
  }
  return out;
}

/** The cgroup of a task in the default (v2) hierarchy. */
export function taskDfltCgroup(task: KObject): KObject {
  return task.member('cgroups').member('dfl_cgrp').deref();
}

/**
 * The cgroup of a task in a given hierarchy: dfl_cgrp for v2; for a v1 root,
 * the css_set's link to a cgroup of that root (task->cgroups->cgrp_links).
 * Every task has a css_set — idle tasks too (init_css_set) — so counting
 * tasks this way accounts for all of them.
 */
export function taskCgroup(task: KObject, root: CgroupRoot, problems = new Problems()): KObject | null {
  if (root.version === 'v2') return taskDfltCgroup(task);
  const cset = task.member('cgroups').deref();
  const rootAddr = root.cgrp.member('root').value();
  for (const link of listForEachEntry(cset.member('cgrp_links'), 'struct cgrp_cset_link', 'cgrp_link', { problems, context: `css_set ${cset.hex()} links`, limit: 64 })) {
    const c = link.member('cgrp').deref();
    if (c.member('root').value() === rootAddr) return c;
  }
  return null;
}

export interface CpusetInfo { cpus: string; mems: string; effectiveCpus: string; effectiveMems: string }

export function cpusetOf(cgrp: KObject): CpusetInfo | null {
  const css = cgroupCss(cgrp, 'cpuset');
  if (!css) return null;
  const cs = css.containerOf('struct cpuset', 'css');
  const n = cgrp.prog.nrCpuIds;
  const mask = (m: string, bits: number) => cpuList(cpumaskCpus(cs.member(m), bits));
  return { cpus: mask('cpus_allowed', n), mems: mask('mems_allowed', 1024), effectiveCpus: mask('effective_cpus', n), effectiveMems: mask('effective_mems', 1024) };
}

const RUNTIME_INF = 0xffffffffffffffffn;

export interface CpuCtlInfo {
  /** cpu.shares (v1), from tg->shares scaled down by SCHED_FIXEDPOINT_SHIFT on 64-bit. */
  shares: number;
  /** cpu.weight (v2): shares * 100 / 1024, rounded. */
  weight: number;
  quotaUs: number | null;
  periodUs: number;
  nrPeriods: number;
  nrThrottled: number;
  throttledUs: number;
}

export function cpuCtlOf(cgrp: KObject): CpuCtlInfo | null {
  const css = cgroupCss(cgrp, 'cpu');
  if (!css) return null;
  const tg = css.containerOf('struct task_group', 'css');
  const shares = Number(tg.member('shares').value() >> 10n);
  const bw = tg.member('cfs_bandwidth');
  const quota = bw.member('quota').value();
  return {
    shares,
    weight: Math.round((shares * 100) / 1024),
    quotaUs: quota === RUNTIME_INF || quota === -1n ? null : Number(quota / 1000n),
    periodUs: Number(bw.member('period').value() / 1000n),
    nrPeriods: bw.member('nr_periods').num(),
    nrThrottled: bw.member('nr_throttled').num(),
    throttledUs: Number(bw.member('throttled_time').value() / 1000n),
  };
}

export interface MemcgInfo { usageBytes: number; limitBytes: number | null }

export function memcgOf(cgrp: KObject): MemcgInfo | null {
  const css = cgroupCss(cgrp, 'memory');
  if (!css) return null;
  const memcg = css.containerOf('struct mem_cgroup', 'css');
  const pc = memcg.member('memory');
  const page = cgrp.prog.vmcoreinfo.pageSize;
  const max = pc.member('max').value();
  // PAGE_COUNTER_MAX is LONG_MAX / PAGE_SIZE: "max" in memory.max.
  const unlimited = max >= 0x7fffffffffffffffn / BigInt(page);
  return { usageBytes: pc.member('usage').num() * page, limitBytes: unlimited ? null : Number(max) * page };
}

export interface CgroupNode {
  path: string;
  depth: number;
  address: string;
  tasks: number;
  blocked: number;
  running: number;
  pids: number[];
  cpuset: CpusetInfo | null;
  cpu: CpuCtlInfo | null;
  memory: MemcgInfo | null;
}

export interface CgroupHierarchy {
  id: number;
  version: 'v1' | 'v2';
  name: string;
  controllers: string[];
  nodes: CgroupNode[];
  totalTasks: number;
}

/**
 * Every cgroup hierarchy (v2 and each v1 root) with, per cgroup, its tasks
 * (counted from each task's own css_set), how many are blocked (D) and
 * runnable (R), and its cpuset, cpu and memory settings. `path` keeps only
 * the subtree at that path.
 */
export function cgroupHierarchies(prog: Program, problems = new Problems(), opts: { path?: string } = {}): CgroupHierarchy[] {
  const hierarchies: CgroupHierarchy[] = [];
  const allTasks = forEachTask(prog, problems);
  for (const root of cgroupRoots(prog, problems)) {
    const nodes: CgroupNode[] = [];
    // Tasks per cgroup of this hierarchy, from each task's own css_set.
    const members = new Map<bigint, KObject[]>();
    for (const t of allTasks) {
      const c = attempt(problems, `cgroup of task ${t.hex()}`, () => taskCgroup(t, root, problems), null);
      if (!c) continue;
      const l = members.get(c.address!);
      if (l) l.push(t);
      else members.set(c.address!, [t]);
    }
    const rootDepth = (p: string) => (p === '/' ? 0 : p.split('/').length - 1);
    for (const c of cgroupDescendants(root.cgrp, problems)) {
      const path = attempt(problems, `path of cgroup ${c.hex()}`, () => cgroupPath(c), c.hex());
      if (opts.path && !(path === opts.path || path.startsWith(opts.path.replace(/\/$/, '') + '/'))) continue;
      const tasks = members.get(c.address!) ?? [];
      const states = tasks.map((t) => attempt(problems, 'task state', () => taskStateLetter(t), '?'));
      nodes.push({
        path,
        depth: rootDepth(path),
        address: c.hex(),
        tasks: tasks.length,
        blocked: states.filter((s) => s === 'D').length,
        running: states.filter((s) => s === 'R').length,
        pids: tasks.map((t) => t.member('pid').num()).sort((a, b) => a - b),
        cpuset: attempt(problems, `cpuset of ${path}`, () => cpusetOf(c), null),
        cpu: attempt(problems, `cpu of ${path}`, () => cpuCtlOf(c), null),
        memory: attempt(problems, `memory of ${path}`, () => memcgOf(c), null),
      });
    }
    hierarchies.push({ id: root.id, version: root.version, name: root.name, controllers: root.controllers, nodes, totalTasks: nodes.reduce((a, n) => a + n.tasks, 0) });
  }
    return hierarchies;
}
