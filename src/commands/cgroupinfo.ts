// `cgroupinfo`: every cgroup hierarchy (v2 and each v1 root) as a tree; per
// cgroup its tasks (and how many are in D and R state), cpuset cpus/mems
// (effective), cpu weight/shares, CFS quota/period and throttling, memory
// usage/limit. --path shows the subtree at a path.

import type { Program } from '../kernel/program.js';
import { Problems, attempt } from '../kernel/problems.js';
import { cgroupHierarchies, type CgroupHierarchy } from '../helpers/cgroup.js';

export type { CgroupNode, CgroupHierarchy } from '../helpers/cgroup.js';

export interface CgroupinfoData {
  hierarchies: CgroupHierarchy[];
  problems: Problems['list'];
}

export function collectCgroupinfo(prog: Program, opts: { path?: string } = {}): CgroupinfoData {
  const problems = new Problems();
  const hierarchies = cgroupHierarchies(prog, problems, opts);
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
