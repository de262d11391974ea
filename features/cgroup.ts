// The cgroup family: where the trouble sits in the cgroup tree — the
// cgroups holding the blocked and runnable tasks, the ones whose CFS
// bandwidth was throttled, and the cpuset limits of the tasks involved in
// the crash (the panic task, blocked tasks and lock holders).

import type { Program } from '../src/kernel/program.js';
import { Problems } from '../src/kernel/problems.js';
import { cgroupHierarchies, type CgroupHierarchy } from '../src/helpers/cgroup.js';
import { dataJson } from '../src/util/datafile.js';

export interface HotCgroup {
  /** "/lab/hot" on cgroup v2; v1 paths carry their controllers: "cpu,cpuacct:/lab". */
  path: string;
  tasks: number;
  blocked: number;
  running: number;
  /** Effective cpuset CPUs when narrower than the machine's, else null. */
  cpus: string | null;
  quotaUs: number | null;
  periodUs: number | null;
  nrThrottled: number;
}

export interface CgroupPart {
  hierarchies: number;
  cgroups: number;
  /** Non-root cgroups with blocked or runnable tasks, or throttled: most blocked first (at most 8). */
  hot: HotCgroup[];
  /** Paths of cgroups whose CFS bandwidth was throttled at least once. */
  throttled: string[];
  /** Paths of cgroups that restrict their tasks' CPUs (cpuset narrower than all online CPUs). */
  restricted: string[];
}

function label(h: CgroupHierarchy, path: string): string {
  return h.version === 'v2' ? path : `${h.controllers.join(',') || h.name || 'v1'}:${path}`;
}

export function extractCgroup(prog: Program, problems: Problems, pids: Set<number>): CgroupPart {
  const { hotCgroupMin } = dataJson<{ hotCgroupMin: number }>('features/data/families.json');
  const hs = cgroupHierarchies(prog, problems);
  const hot: HotCgroup[] = [];
  const throttled = new Set<string>();
  const restricted = new Set<string>();
  let all: string | null = null;
  for (const h of hs) {
    const root = h.nodes.find((n) => n.depth === 0);
    if (root?.cpuset) all = root.cpuset.effectiveCpus;
  }
  let count = 0;
  for (const h of hs) {
    for (const n of h.nodes) {
      count++;
      const path = label(h, n.path);
      const narrow = n.cpuset && all !== null && n.cpuset.effectiveCpus !== all ? n.cpuset.effectiveCpus : null;
      const nrThrottled = n.cpu?.nrThrottled ?? 0;
      if (nrThrottled > 0) throttled.add(path);
      if (narrow && n.pids.some((p) => pids.has(p))) restricted.add(path);
      if (n.depth === 0) continue;
      if (n.blocked + n.running >= hotCgroupMin || nrThrottled > 0) {
        hot.push({ path, tasks: n.tasks, blocked: n.blocked, running: n.running, cpus: narrow, quotaUs: n.cpu?.quotaUs ?? null, periodUs: n.cpu?.quotaUs ? n.cpu.periodUs : null, nrThrottled });
      }
    }
  }
  hot.sort((a, b) => b.blocked - a.blocked || b.running - a.running || b.nrThrottled - a.nrThrottled || a.path.localeCompare(b.path));
  return { hierarchies: hs.length, cgroups: count, hot: hot.slice(0, 8), throttled: [...throttled].sort(), restricted: [...restricted].sort() };
}
