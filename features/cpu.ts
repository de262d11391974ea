// The cpu/tlb family: how many CPUs and which were online, which did not
// save registers for the crash (did not answer the crash NMI: hard-locked
// or already stopped), which were idle or busy at the panic, and TLB states
// that point at flush bugs: CPUs in lazy-TLB mode and CPUs behind their
// loaded mm's tlb_gen.

import type { Program } from '../src/kernel/program.js';
import { Problems, attempt } from '../src/kernel/problems.js';
import { cpuTopology, tlbStates } from '../src/helpers/cpu.js';
import { normalizeComm } from './normalize.js';

export interface CpuPart {
  possible: string;
  online: string;
  onlineCount: number;
  panicCpu: number | null;
  noRegisters: number[];
  idleCpus: number[];
  busyCpus: number[];
  /** What each busy CPU was running (names normalized), by CPU. */
  busy: Array<{ cpu: number; comm: string }>;
  lazyTlb: number[];
  staleTlb: number[];
}

export function extractCpu(prog: Program, problems: Problems): CpuPart {
  const s = cpuTopology(prog, problems);
  const tlb = attempt(problems, 'TLB state', () => tlbStates(prog, problems), []);
  const online = s.cpus.filter((c) => c.online);
  return {
    possible: s.possible,
    online: s.online,
    onlineCount: online.length,
    panicCpu: s.panicCpu,
    noRegisters: s.noRegisters,
    idleCpus: s.idleCpus,
    busyCpus: s.busyCpus,
    // What every CPU was running, a CPU that panic() stopped (offline now) included.
    busy: s.cpus.filter((c) => !c.idle && c.current).map((c) => ({ cpu: c.cpu, comm: normalizeComm(c.current!.comm) })),
    lazyTlb: tlb.filter((t) => t.lazy).map((t) => t.cpu),
    staleTlb: tlb.filter((t) => t.stale).map((t) => t.cpu),
  };
}
