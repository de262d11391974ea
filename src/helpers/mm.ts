// Memory use of tasks as ps reports it: VSZ (mm->total_vm) and RSS (the
// file, anon and shmem counters of mm->rss_stat, plus each thread's
// not-yet-folded deltas under SPLIT_RSS_COUNTING, as crash counts them).

import type { Program } from '../kernel/program.js';
import type { KObject } from '../kernel/object.js';
import { strip } from '../kernel/types.js';
import { listForEachEntry } from '../kernel/iter.js';

export interface TaskMemory {
  vszKB: number;
  rssKB: number;
}

function counters(prog: Program): number[] {
  const btf = prog.btf;
  const names = ['MM_FILEPAGES', 'MM_ANONPAGES', 'MM_SHMEMPAGES'];
  const ids = names.map((n) => btf?.enumerator(n));
  return ids.every((x) => x !== undefined) ? ids.map(Number) : [0, 1, 3];
}

/**
 * Pages counted by the mm's rss counters. 6.2 replaced struct mm_rss_stat
 * {atomic_long_t count[]} with an array of percpu_counter (commit
 * f1a7941243c1); both are read here.
 */
function mmRssPages(mm: KObject, idx: number[]): number {
  const rs = mm.member('rss_stat');
  const t = strip(rs.type);
  if (t.kind === 'struct') return idx.reduce((a, i) => a + Math.max(0, Number(rs.member('count').index(i).value())), 0);
  // percpu_counter: the folded count plus every CPU's pending delta.
  const prog = mm.prog;
  let sum = 0;
  for (const i of idx) {
    const pc = rs.index(i);
    let v = Number(pc.member('count').value());
    const counters = pc.member('counters').value();
    for (let cpu = 0; cpu < prog.nrCpuIds; cpu++) v += prog.read(prog.perCpuPtr(counters, cpu), 4).readInt32LE(0);
    sum += Math.max(0, v);
  }
  return sum;
}

export function taskMemory(task: KObject): TaskMemory {
  const prog = task.prog;
  const mmPtr = task.member('mm');
  if (mmPtr.isNull()) return { vszKB: 0, rssKB: 0 };
  const key = `mm:${mmPtr.hex()}`;
  const cached = prog.cache.get(key) as TaskMemory | undefined;
  if (cached) return cached;
  const mm = mmPtr.deref();
  const pageKB = prog.vmcoreinfo.pageSize / 1024;
  const idx = counters(prog);
  let pages = mmRssPages(mm, idx);
  // SPLIT_RSS_COUNTING (before 6.2): each thread keeps small deltas in task->rss_stat.
  if (task.has('rss_stat')) {
    const leader = task.member('group_leader').deref();
    const threads = [leader, ...listForEachEntry(leader.member('signal').member('thread_head'), 'struct task_struct', 'thread_node', { limit: 100000 })];
    const seen = new Set<bigint>();
    for (const t of threads) {
      if (seen.has(t.address!)) continue;
      seen.add(t.address!);
      for (const i of idx) pages += t.member('rss_stat').member('count').index(i).num();
    }
  }
  const r = { vszKB: mm.member('total_vm').num() * pageKB, rssKB: Math.max(0, pages) * pageKB };
  prog.cache.set(key, r);
  return r;
}
