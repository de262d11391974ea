// Why and where the machine went down: the panic (or oops) line from the
// kernel log, the CPU that panicked and the task it was running.

import type { Program } from '../kernel/program.js';
import type { KObject } from '../kernel/object.js';
import type { LogRecord } from '../kernel/printk.js';
import { dataJson } from '../util/datafile.js';
import { rqCurr } from './tasks.js';

interface PatternData {
  patterns: Array<{ re: string; pick: 'first' | 'last' }>;
}

/** The panic message as crash's sys PANIC shows it, or the oops line when the oops went straight to kdump. */
export function panicMessage(records: LogRecord[]): string | null {
  const { patterns } = dataJson<PatternData>('src/helpers/data/panic-patterns.json');
  for (const p of patterns) {
    const re = new RegExp(p.re);
    let hit: string | null = null;
    for (const r of records) {
      for (const line of r.text.split('\n')) {
        if (re.test(line)) {
          hit = line.trimEnd();
          if (p.pick === 'first') return hit;
        }
      }
    }
    if (hit) return hit;
  }
  return null;
}

/**
 * The CPU that crashed: panic_cpu (since 4.5), else x86's crashing_cpu (set
 * by the kdump shutdown path even when an oops called crash_kexec directly).
 */
export function panicCpu(prog: Program): { cpu: number; source: string } | null {
  for (const sym of ['panic_cpu', 'crashing_cpu']) {
    if (!prog.hasSymbol(sym)) continue;
    try {
      const v = prog.readS32(prog.symbol(sym));
      if (v >= 0 && v < prog.nrCpuIds) return { cpu: v, source: sym };
    } catch {
      // try the next source
    }
  }
  return null;
}

/** The task that was running on the panic CPU. */
export function panicTask(prog: Program): KObject | null {
  const pc = panicCpu(prog);
  if (!pc) return null;
  try {
    return rqCurr(prog, pc.cpu);
  } catch {
    return null;
  }
}
