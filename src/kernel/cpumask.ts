// cpumasks: struct cpumask { unsigned long bits[]; } read as bit lists, and
// the "0-3,6" list format the kernel prints (bitmap_print_to_pagebuf).

import type { KObject } from './object.js';
import { strip } from './types.js';

/** CPUs set in a struct cpumask (or a pointer to one, as cpumask_var_t is under CPUMASK_OFFSTACK). */
export function cpumaskCpus(mask: KObject, nbits: number): number[] {
  let m = mask;
  if (strip(m.type).kind === 'pointer') m = m.deref();
  const words = Math.ceil(nbits / 64);
  const b = m.prog.read(m.address!, words * 8);
  const out: number[] = [];
  for (let w = 0; w < words; w++) {
    const lo = b.readUInt32LE(w * 8);
    const hi = b.readUInt32LE(w * 8 + 4);
    for (let bit = 0; bit < 32; bit++) {
      if (lo & (1 << bit) && w * 64 + bit < nbits) out.push(w * 64 + bit);
    }
    for (let bit = 0; bit < 32; bit++) {
      if (hi & (1 << bit) && w * 64 + 32 + bit < nbits) out.push(w * 64 + 32 + bit);
    }
  }
  return out;
}

/** "0-3,6,8-9" */
export function cpuList(cpus: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(j === i ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
