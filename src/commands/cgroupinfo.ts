// `cgroupinfo`: every cgroup hierarchy (v2 and each v1 root) as a tree; per
// cgroup its tasks (and how many are in D and R state), cpuset cpus/mems
// (effective), cpu weight/shares, CFS quota/period and throttling, memory
// usage/limit. --path shows the subtree at a path.

import type { Program } from '../kernel/program.js';
import { Problems, attempt } from '../kernel/problems.js';
import { cgroupRoots, cgroupDescendants, cgroupPath, taskCgroup, cpusetOf, cpuCtlOf, memcgOf, type CpusetInfo, type CpuCtlInfo, type MemcgInfo } from '../helpers/cgroup.js';
import { forEachTask, taskStateLetter } from '../helpers/tasks.js';
import type { KObject } from '../kernel/object.js';

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

export interface CgroupinfoData {
  hierarchies: CgroupHierarchy[];
  problems: Problems['list'];
}

export function collectCgroupinfo(prog: Program, opts: { path?: string } = {}): CgroupinfoData {
  const problems = new Problems();
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
  return { hierarchies, problems: problems.list };
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)}M`;

export function renderCgroupinfo(d: CgroupinfoData): string {
  const out: string[] = [];
  for (const h of d.hierarchies) {
    if (out.length) out.push('');
    out.push(`HIERARCHY ${h.id} (cgroup ${h.version}${h.name ? `, name ${h.name}` : ''}; controllers: ${h.controllers.join(' ') || 'none'}; ${h.totalTasks} tasks)`);
    const rows = h.nodes.map((n) => {
      const name = n.depth === 0 ? '/' : `${'  '.repeat(n.depth - 1)}└ ${n.path.split('/').pop()}`;
      const cs = n.cpuset ? `${n.cpuset.effectiveCpus}/${n.cpuset.effectiveMems}${n.cpuset.cpus && n.cpuset.cpus !== n.cpuset.effectiveCpus ? ` (set ${n.cpuset.cpus})` : ''}` : '-';
      const cpu = n.cpu ? `w${n.cpu.weight}/s${n.cpu.shares}` : '-';
      const quota = n.cpu ? (n.cpu.quotaUs === null ? 'max' : `${n.cpu.quotaUs}/${n.cpu.periodUs}us`) : '-';
      const thr = n.cpu ? `${n.cpu.nrThrottled}/${n.cpu.nrPeriods}` : '-';
      const mem = n.memory ? `${mb(n.memory.usageBytes)}/${n.memory.limitBytes === null ? 'max' : mb(n.memory.limitBytes)}` : '-';
      return [name, String(n.tasks), String(n.blocked), String(n.running), cs, cpu, quota, thr, mem];
    });
    const head = ['CGROUP', 'TASKS', 'D', 'R', 'CPUS/MEMS', 'WEIGHT/SHARES', 'QUOTA', 'THROTTLED/PERIODS', 'MEMORY'];
    const w = head.map((x, i) => Math.max(x.length, ...rows.map((r) => r[i]!.length)));
    out.push(head.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd());
    for (const r of rows) out.push(r.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ').trimEnd());
  }
  return out.join('\n') + '\n';
}
