// CPUs: which exist, are present and online; their topology (package,
// die, core, thread siblings from cpuinfo_x86 and cpu_sibling_map); what
// each was doing at the crash (idle, panicking, saved registers or not);
// and each CPU's TLB state (cpu_tlbstate: loaded mm, ASID, tlb_gen against
// the mm's, lazy mode), after drgn-tools' cpuinfo and smp helpers.

import type { Program } from '../kernel/program.js';
import { Problems, attempt } from '../kernel/problems.js';
import { cpumaskCpus, cpuList } from '../kernel/cpumask.js';
import { cpuCounts } from './system.js';
import { cpuRegisters } from './stack.js';
import { panicCpu } from './panic.js';

export interface CpuTopology {
  cpu: number;
  online: boolean;
  package: number | null;
  die: number | null;
  core: number | null;
  apicid: number | null;
  siblings: string;
  coreSiblings: string;
  model: string | null;
  current: { pid: number; comm: string } | null;
  idle: boolean;
  panicked: boolean;
  /** Registers saved for the dump (kdump: the crash NMI was answered). */
  savedRegisters: boolean;
}

export interface CpuSummary {
  possible: string;
  present: string;
  online: string;
  panicCpu: number | null;
  idleCpus: number[];
  busyCpus: number[];
  /** Online CPUs with no saved registers: they did not answer the crash NMI. */
  noRegisters: number[];
  cpus: CpuTopology[];
}

export function cpuTopology(prog: Program, problems = new Problems()): CpuSummary {
  const counts = cpuCounts(prog);
  const regs = attempt(problems, 'saved registers', () => cpuRegisters(prog), null);
  const pc = panicCpu(prog)?.cpu ?? null;
  const cpus: CpuTopology[] = [];
  for (const cpu of counts.present) {
    const ci = attempt(problems, `cpu_info of CPU ${cpu}`, () => prog.perCpu('cpu_info', cpu), null);
    const num = (m: string) => (ci ? attempt(problems, `cpu_info.${m}`, () => (ci.has(m) ? ci.member(m).num() : null), null) : null);
    const mask = (name: string) => attempt(problems, `${name} of CPU ${cpu}`, () => cpuList(cpumaskCpus(prog.perCpu(name, cpu), prog.nrCpuIds)), '');
    const rq = prog.perCpu('runqueues', cpu);
    const curr = attempt(problems, `current of CPU ${cpu}`, () => rq.member('curr').deref(), null);
    const idle = attempt(problems, `idle of CPU ${cpu}`, () => rq.member('curr').value() === rq.member('idle').value(), false);
    cpus.push({
      cpu,
      online: counts.online.includes(cpu),
      package: num('phys_proc_id'),
      die: num('cpu_die_id'),
      core: num('cpu_core_id'),
      apicid: num('apicid'),
      siblings: mask('cpu_sibling_map'),
      coreSiblings: mask('cpu_core_map'),
      model: ci ? attempt(problems, 'x86_model_id', () => ci.member('x86_model_id').string().trim(), null) : null,
      current: curr ? attempt(problems, 'current', () => ({ pid: curr.member('pid').num(), comm: curr.member('comm').string() }), null) : null,
      idle,
      panicked: cpu === pc,
      savedRegisters: regs ? regs.cpus.has(cpu) : false,
    });
  }
  return {
    possible: cpuList(counts.possible),
    present: cpuList(counts.present),
    online: cpuList(counts.online),
    panicCpu: pc,
    idleCpus: cpus.filter((c) => c.idle).map((c) => c.cpu),
    busyCpus: cpus.filter((c) => !c.idle).map((c) => c.cpu),
    noRegisters: regs ? regs.missing : [],
    cpus,
  };
}

export interface TlbState {
  cpu: number;
  loadedMm: string;
  /** The task owning the loaded mm (mm->owner), or "init_mm" for the kernel's own. */
  mmOwner: string | null;
  asid: number;
  nextAsid: number;
  /** tlb_gen this CPU has flushed up to for the loaded mm (ctxs[asid].tlb_gen). */
  cpuTlbGen: bigint;
  /** The mm's current tlb_gen (mm->context.tlb_gen). */
  mmTlbGen: bigint | null;
  /** The CPU is behind on flushes for its loaded mm. */
  stale: boolean;
  lazy: boolean;
  invalidateOther: boolean;
}

export function tlbStates(prog: Program, problems = new Problems()): TlbState[] {
  const out: TlbState[] = [];
  const initMm = prog.hasSymbol('init_mm') ? prog.symbol('init_mm') : 0n;
  for (const cpu of cpuCounts(prog).present) {
    try {
      const ts = prog.perCpu('cpu_tlbstate', cpu);
      const mmPtr = ts.member('loaded_mm').value();
      const asid = ts.member('loaded_mm_asid').num();
      const cpuGen = ts.member('ctxs').index(asid).member('tlb_gen').value();
      let mmGen: bigint | null = null;
      let owner: string | null = null;
      if (mmPtr) {
        const mm = prog.objectAt('struct mm_struct', mmPtr);
        mmGen = attempt(problems, `tlb_gen of mm ${mm.hex()}`, () => mm.member('context').member('tlb_gen').value(), null);
        if (mmPtr === initMm) owner = 'init_mm';
        else if (mm.has('owner')) {
          owner = attempt(problems, `owner of mm ${mm.hex()}`, () => {
            const o = mm.member('owner');
            return o.isNull() ? null : `${o.member('comm').string()}:${o.member('pid').num()}`;
          }, null);
        }
      }
      // cpu_tlbstate_shared.is_lazy since 5.10 (commit 2f4305b19fe6); before, cpu_tlbstate.is_lazy.
      const lazy = attempt(problems, `lazy of CPU ${cpu}`, () => (prog.hasSymbol('cpu_tlbstate_shared') ? prog.perCpu('cpu_tlbstate_shared', cpu).member('is_lazy').bool() : ts.member('is_lazy').bool()), false);
      out.push({
        cpu,
        loadedMm: BigInt.asUintN(64, mmPtr).toString(16).padStart(16, '0'),
        mmOwner: owner,
        asid,
        nextAsid: ts.member('next_asid').num(),
        cpuTlbGen: cpuGen,
        mmTlbGen: mmGen,
        stale: mmGen !== null && cpuGen < mmGen,
        lazy,
        invalidateOther: ts.member('invalidate_other').bool(),
      });
    } catch (e) {
      problems.fromError(e, `cpu_tlbstate of CPU ${cpu}`);
    }
  }
  return out;
}
