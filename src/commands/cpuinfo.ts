// `cpuinfo`: -i the CPUs and their topology, who panicked, who was idle,
// who saved no registers for the crash; -t each CPU's TLB state.

import type { Program } from '../kernel/program.js';
import { Problems } from '../kernel/problems.js';
import { cpuTopology, tlbStates, type CpuSummary, type TlbState } from '../helpers/cpu.js';

export interface CpuinfoOptions {
  topology?: boolean;
  tlb?: boolean;
}

export interface CpuinfoData {
  summary?: CpuSummary;
  tlb?: TlbState[];
  problems: Problems['list'];
}

export function collectCpuinfo(prog: Program, opts: CpuinfoOptions = {}): CpuinfoData {
  const problems = new Problems();
  const both = !opts.topology && !opts.tlb;
  return {
    ...(opts.topology || both ? { summary: cpuTopology(prog, problems) } : {}),
    ...(opts.tlb || both ? { tlb: tlbStates(prog, problems) } : {}),
    problems: problems.list,
  };
}

function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

export function renderCpuinfo(d: CpuinfoData): string {
  const out: string[] = [];
  if (d.summary) {
    const s = d.summary;
    out.push(`CPUS: possible ${s.possible}  present ${s.present}  online ${s.online}`);
    out.push(`PANIC CPU: ${s.panicCpu ?? 'unknown'}   IDLE: ${s.idleCpus.join(',') || 'none'}   BUSY: ${s.busyCpus.join(',') || 'none'}   NO SAVED REGISTERS: ${s.noRegisters.join(',') || 'none'}`);
    out.push(...table(['CPU', 'ONLINE', 'PKG', 'DIE', 'CORE', 'APIC', 'SIBLINGS', 'CORE_SIBLINGS', 'CURRENT', 'FLAGS', 'MODEL'], s.cpus.map((c) => [
      String(c.cpu), c.online ? 'yes' : 'no', String(c.package ?? '-'), String(c.die ?? '-'), String(c.core ?? '-'), String(c.apicid ?? '-'),
      c.siblings || '-', c.coreSiblings || '-', c.current ? `${c.current.comm}:${c.current.pid}` : '-',
      [c.panicked ? 'panic' : '', c.idle ? 'idle' : '', c.savedRegisters ? '' : 'no-regs'].filter(Boolean).join(',') || '-', c.model ?? '-',
    ])));
  }
  if (d.tlb) {
    if (out.length) out.push('');
    out.push(...table(['CPU', 'LOADED_MM', 'OWNER', 'ASID', 'NEXT_ASID', 'CPU_TLB_GEN', 'MM_TLB_GEN', 'STATE'], d.tlb.map((t) => [
      String(t.cpu), t.loadedMm, t.mmOwner ?? '-', String(t.asid), String(t.nextAsid), String(t.cpuTlbGen), t.mmTlbGen === null ? '-' : String(t.mmTlbGen),
      [t.lazy ? 'lazy' : '', t.stale ? 'STALE' : 'current', t.invalidateOther ? 'invalidate-other' : ''].filter(Boolean).join(','),
    ])));
  }
  return out.join('\n') + '\n';
}
