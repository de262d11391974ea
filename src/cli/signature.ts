// `vaat signature`: the crash signature of a dump or a console log, as a
// human summary or (--json) the validated document; --batch writes one
// signature per line (JSONL) for every dump (or, with --logs, every file)
// under a directory, with progress, and never stops on one bad input.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Program } from '../kernel/program.js';
import type { Signature } from '../../features/signature.js';
import { toJson } from '../util/json.js';

export function renderSignature(s: Signature): string {
  const out: string[] = [];
  const list = (xs: Array<string | number>) => (xs.length ? xs.join(',') : 'none');
  out.push(`SIGNATURE  ${s.source.name}  (${s.source.kind}, ${s.source.release ?? 'release unknown'}, ${s.source.hashKind} ${s.source.hash.slice(0, 12)})`);
  const p = s.panic;
  if (!p) out.push('PANIC      unavailable');
  else if (!p.title) out.push(`PANIC      no crash report in the log${p.message ? ` (panic message: ${p.message})` : ''}`);
  else {
    out.push(`PANIC      ${p.title}  [${p.kind}]${p.corrupted ? `  CORRUPTED: ${p.corruptedReason}` : ''}`);
    if (p.message) out.push(`  message  ${p.message}`);
    if (p.cpu !== null) out.push(`  by       CPU ${p.cpu}  PID ${p.pid}  ${p.comm}`);
    out.push(`  guilty   ${p.guilty ?? '-'}${p.guiltyModule ? ` [${p.guiltyModule}]` : ''}`);
    if (p.frames.length) out.push(`  frames   ${p.frames.join(' < ')}`);
    for (const f of p.followups) out.push(`  then     ${f}`);
  }
  const l = s.locks;
  if (!l) out.push('LOCKS      unavailable');
  else {
    const kinds = Object.entries(l.waitKinds).map(([k, n]) => `${k} ${n}`).join(', ');
    out.push(`LOCKS      ${l.blocked} blocked${kinds ? ` (${kinds})` : ''}${l.deadlock ? '  DEADLOCK' : ''}`);
    for (const k of l.locks) {
      const h = k.holder;
      const holder = h ? `holder ${h.comm}:${h.pid} ${h.state}${h.offCpuS !== null ? `, off CPU ${h.offCpuS}s` : ''}${h.onCpuS !== null ? `, on CPU ${h.onCpuS}s` : ''}${h.frames.length ? ` in ${h.frames.join(' < ')}` : ''}` : 'holder unknown';
      const mode = k.held ? ` held for ${k.held}` : '';
      const wants = k.waitFor?.length ? `, waiting to ${k.waitFor.join('/')}` : '';
      out.push(`  ${k.kind} ${k.name ?? '(heap lock)'}${k.module ? ` [${k.module}]` : ''}${mode}: ${holder}; ${k.waiters} waiter(s) (${k.waiterComms.join(', ')})${wants}`);
    }
    for (const c of l.chains) out.push(`  chain    ${c.links.join(' ')}${c.cycle ? '  (cycle)' : ''}`);
  }
  const r = s.runqueue;
  if (!r) out.push('RUNQUEUE   unavailable');
  else {
    out.push(`RUNQUEUE   nr_running ${r.nrRunning.join(',')} on CPUs ${r.cpus.join(',')}  max/mean ${r.ratio}  idle ${list(r.idleCpus)}${r.idleWhileOverloaded ? '  IDLE WHILE OVERLOADED' : ''}`);
    if (r.longestRunning) out.push(`  longest  ${r.longestRunning.comm}:${r.longestRunning.pid} on CPU ${r.longestRunning.cpu} for ${r.longestRunning.seconds}s`);
    if (r.panicCpu) out.push(`  panic CPU ${r.panicCpu.cpu}: curr ${r.panicCpu.curr ?? '-'}, queued ${list(r.panicCpu.queued)}`);
    if (r.throttled.length) out.push(`  throttled ${r.throttled.join(', ')}`);
  }
  const c = s.cgroup;
  if (!c) out.push('CGROUP     unavailable');
  else {
    out.push(`CGROUP     ${c.cgroups} cgroups in ${c.hierarchies} hierarchies; throttled ${list(c.throttled)}; restricting cpusets ${list(c.restricted)}`);
    for (const h of c.hot) out.push(`  hot      ${h.path}: ${h.tasks} tasks, ${h.blocked} D, ${h.running} R${h.cpus ? `, cpus ${h.cpus}` : ''}${h.quotaUs !== null ? `, quota ${h.quotaUs}/${h.periodUs}us` : ''}${h.nrThrottled ? `, throttled ${h.nrThrottled}x` : ''}`);
  }
  const t = s.taint;
  if (!t) out.push('TAINT      unavailable');
  else {
    out.push(`TAINT      ${t.letters || 'none'} (${t.mask})  modules ${t.modules.map((m) => `${m.name}(${m.taints})`).join(' ') || 'none'}`);
    if (t.inPanicStack.length || t.lockHolder.length) out.push(`  in panic stack ${list(t.inPanicStack)}; on lock holder's stack ${list(t.lockHolder)}`);
  }
  const u = s.cpu;
  if (!u) out.push('CPU        unavailable');
  else {
    out.push(`CPU        ${u.onlineCount} online (${u.online} of ${u.possible}); panic CPU ${u.panicCpu ?? '?'}; no registers ${list(u.noRegisters)}; idle ${list(u.idleCpus)}; lazy TLB ${list(u.lazyTlb)}; stale TLB ${list(u.staleTlb)}`);
    if (u.busy.length) out.push(`  busy     ${u.busy.map((b) => `${b.cpu}:${b.comm}`).join('  ')}`);
  }
  out.push(`PROBLEMS   ${s.problems.length ? s.problems.length : 'none'}`);
  for (const pr of s.problems.slice(0, 10)) out.push(`  ${pr.context ? pr.context + ': ' : ''}${pr.reason}${pr.address ? ` at ${pr.address}` : ''}`);
  return out.join('\n') + '\n';
}

export function signatureJson(s: Signature): string {
  return toJson(s) + '\n';
}

export interface BatchSignatureResult {
  total: number;
  written: number;
  failed: Array<{ file: string; error: string }>;
}

/**
 * Signatures of every dump under `inputs` (or every regular file, with
 * `logs`), one JSON document per line in `out`. A file that cannot be read
 * becomes a line {"source": {...}, "error": "..."} in the failures list, not an abort.
 */
export async function batchSignatures(
  inputs: string[],
  out: string,
  opts: { logs?: boolean; vector?: boolean; program?: Record<string, unknown>; progress?: (done: number, total: number, name: string, ok: boolean) => void },
): Promise<BatchSignatureResult> {
  const { findDumps } = await import('../report/batch.js');
  const { signatureFromDump, signatureFromConsole } = await import('../../features/signature.js');
  const { Program } = await import('../kernel/program.js');
  const { materialize } = await import('../util/zst.js');
  const { vectorize } = await import('../../features/vector.js');
  const files = opts.logs ? findDumps(inputs, () => true) : findDumps(inputs);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const fd = fs.openSync(out, 'w');
  const res: BatchSignatureResult = { total: files.length, written: 0, failed: [] };
  try {
    for (const [i, f] of files.entries()) {
      let ok = true;
      let prog: Program | null = null;
      try {
        let sig: Signature;
        if (opts.logs) sig = signatureFromConsole(fs.readFileSync(f.path, 'latin1'), f.name);
        else {
          prog = Program.open(materialize(f.path), { ...(opts.program ?? {}), displayPath: f.path });
          sig = signatureFromDump(prog, f.path);
        }
        fs.writeSync(fd, JSON.stringify(opts.vector ? { ...sig, vector: Array.from(vectorize(sig), (x) => Math.round(x * 1e6) / 1e6) } : sig) + '\n');
        res.written++;
      } catch (e) {
        ok = false;
        const error = ((e as Error).message ?? String(e)).split('\n')[0]!;
        res.failed.push({ file: f.name, error });
        // The failure has its line too: a reader of the JSONL sees every input.
        fs.writeSync(fd, JSON.stringify({ source: { name: path.basename(f.path), path: f.path }, error }) + '\n');
      } finally {
        prog?.close();
      }
      opts.progress?.(i + 1, files.length, f.name, ok);
    }
  } finally {
    fs.closeSync(fd);
  }
  return res;
}
