// Machine-wide facts for `sys`: identity (utsname), crash time, uptime,
// load average, memory size, CPU counts.

import type { Program } from '../kernel/program.js';
import { Problems, ReadFault, attempt } from '../kernel/problems.js';
import { cpumaskCpus } from '../kernel/cpumask.js';

export interface Utsname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  machine: string;
  domainname: string;
}

export function utsname(prog: Program): Utsname {
  const n = prog.object('init_uts_ns').member('name');
  const f = (m: string) => n.member(m).string();
  return { sysname: f('sysname'), nodename: f('nodename'), release: f('release'), version: f('version'), machine: f('machine'), domainname: f('domainname') };
}

/** HZ, from tick_nsec (= TICK_NSEC = (NSEC_PER_SEC + HZ/2) / HZ) since the config is not in the dump. */
export function kernelHz(prog: Program): number {
  const tick = prog.readU64(prog.symbol('tick_nsec'));
  const hz = tick > 0n ? Math.round(1e9 / Number(tick)) : 0;
  // HZ is 24..10000 on every kernel that builds; anything else is a damaged page.
  if (hz < 24 || hz > 10000) throw new ReadFault(`tick_nsec ${tick} gives HZ ${hz}: not a kernel's tick`, prog.symbol('tick_nsec'));
  return hz;
}

/** Seconds since boot, from jiffies as crash computes it: (jiffies - INITIAL_JIFFIES) / HZ. */
export function uptimeSeconds(prog: Program): number {
  const hz = kernelHz(prog);
  const jiffies = prog.readU64(prog.symbol(prog.hasSymbol('jiffies_64') ? 'jiffies_64' : 'jiffies'));
  // INITIAL_JIFFIES = (unsigned long)(unsigned int)(-300 * HZ): jiffies wrap 5 minutes after boot.
  const initial = BigInt((2 ** 32 - 300 * hz) >>> 0);
  const up = Number(BigInt.asUintN(64, jiffies - initial)) / hz;
  // More than a century of uptime is a damaged jiffies, not a machine.
  if (!Number.isFinite(up) || up > 100 * 365 * 86400) throw new ReadFault(`jiffies ${jiffies} gives an uptime of ${up} s: damaged`);
  return up;
}

/** Wall-clock time of the crash: CRASHTIME from VMCOREINFO (real kdump), else the timekeeper's xtime. */
export function crashTime(prog: Program): { seconds: number; source: string } {
  const ct = prog.vmcoreinfo.crashTime;
  if (ct !== undefined) return { seconds: ct, source: 'VMCOREINFO CRASHTIME' };
  if (prog.vmcoreinfo.kexecCrash) throw new ReadFault(`VMCOREINFO CRASHTIME=${JSON.stringify(prog.vmcoreinfo.get('CRASHTIME')!.slice(0, 32))} is not a number of seconds: damaged`);
  const tk = prog.object('tk_core').member('timekeeper');
  return { seconds: tk.member('xtime_sec').num(), source: 'timekeeper xtime_sec' };
}

/** avenrun[] as /proc/loadavg prints it (FSHIFT 11, rounded by FIXED_1/200). */
export function loadAverage(prog: Program): [string, string, string] {
  const FSHIFT = 11n;
  const FIXED_1 = 1n << FSHIFT;
  const a = prog.object('avenrun');
  const fmt = (i: number) => {
    const v = a.index(i).value() + FIXED_1 / 200n;
    const int = v >> FSHIFT;
    const frac = ((v & (FIXED_1 - 1n)) * 100n) >> FSHIFT;
    return `${int}.${frac.toString().padStart(2, '0')}`;
  };
  return [fmt(0), fmt(1), fmt(2)];
}

/** Bytes of RAM present: the sum of node_present_pages over online nodes (what crash's sys MEMORY shows). */
export function memoryBytes(prog: Program, problems = new Problems()): number {
  return nodePages(prog, 'node_present_pages', problems) * prog.vmcoreinfo.pageSize;
}

/** Pages spanned by all nodes, holes included: the total crash divides by for ps %MEM. */
export function spannedPages(prog: Program, problems = new Problems()): number {
  return nodePages(prog, 'node_spanned_pages', problems);
}

function nodePages(prog: Program, member: string, problems: Problems): number {
  let pages = 0;
  if (prog.hasSymbol('node_data')) {
    // node_online_map is node_states[N_ONLINE]; VMCOREINFO names its address.
    const onlineMap = prog.vmcoreinfo.symbol('node_online_map');
    const nodes = onlineMap === undefined ? [0] : attempt(problems, 'node_online_map', () => cpumaskCpus(prog.objectAt('nodemask_t', onlineMap), 1024), [0]);
    for (const nid of nodes) {
      pages += attempt(problems, `node ${nid}`, () => prog.object('node_data').index(nid).deref().member(member).num(), 0);
    }
  } else if (prog.hasSymbol('contig_page_data')) {
    pages = prog.objectAt('struct pglist_data', prog.symbol('contig_page_data')).member(member).num();
  }
  return pages;
}

export interface CpuCounts {
  possible: number[];
  present: number[];
  online: number[];
}

export function cpuCounts(prog: Program): CpuCounts {
  const n = prog.nrCpuIds;
  const mask = (name: string) => cpumaskCpus(prog.object(name), n);
  return { possible: mask('__cpu_possible_mask'), present: mask('__cpu_present_mask'), online: mask('__cpu_online_mask') };
}

/** The processor speed crash shows in MACHINE: cpu_khz / 1000. */
export function cpuMhz(prog: Program): number | null {
  try {
    return Math.floor(prog.object('cpu_khz').num() / 1000);
  } catch {
    return null;
  }
}

/** totalram_pages (memory the page allocator manages). */
export function totalRamPages(prog: Program): number {
  return prog.object('_totalram_pages').num();
}
