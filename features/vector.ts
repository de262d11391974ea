// The signature as a fixed-length vector for nearest-neighbour search. The
// layout is data (features/data/vector.json): one block per family, each
// with a few numeric slots followed by a hashed bag of symbols (frames with
// weights that fall with their depth, lock names, holder frames, module
// names, cgroup paths, task names). Hashing is signed 32-bit FNV-1a, so the
// vector is the same on every machine and every run.

import { dataJson } from '../src/util/datafile.js';
import type { Signature } from './signature.js';
import { MARKERS, frameFunction } from './trace.js';

export type Family = 'panic' | 'locks' | 'runqueue' | 'cgroup' | 'taint' | 'cpu';

interface Block {
  family: Family;
  size: number;
  numeric: number;
  weight: number;
}

interface Layout {
  version: number;
  blocks: Block[];
  panicFrames: number;
  holderFrames: number;
}

let layout: (Layout & { offsets: Map<Family, number>; dim: number }) | null = null;

export function vectorLayout(): Layout & { offsets: Map<Family, number>; dim: number } {
  if (layout) return layout;
  const l = dataJson<Layout>('features/data/vector.json');
  const offsets = new Map<Family, number>();
  let off = 0;
  for (const b of l.blocks) {
    offsets.set(b.family, off);
    off += b.size;
  }
  layout = { ...l, offsets, dim: off };
  return layout;
}

/** The vector's dimension (576 with the shipped layout). */
export function vectorDimension(): number {
  return vectorLayout().dim;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** One family's block under construction. */
class BlockBuilder {
  readonly v: Float64Array;
  constructor(readonly b: Block) {
    this.v = new Float64Array(b.size);
  }
  num(slot: number, x: number): void {
    if (slot >= this.b.numeric) throw new Error(`${this.b.family}: numeric slot ${slot} outside the layout`);
    this.v[slot] = Number.isFinite(x) ? x : 0;
  }
  sym(token: string, w = 1): void {
    const span = this.b.size - this.b.numeric;
    const h = fnv1a(`${this.b.family}|${token}`);
    const idx = this.b.numeric + (h % span);
    // The sign comes from a bit the index does not use: collisions cancel out on average.
    this.v[idx] += (h & 0x80000000 ? -1 : 1) * w;
  }
}

const log1p = (x: number) => Math.log1p(Math.max(0, x));

/** The signature's vector: deterministic, fixed dimension, families weighted by the layout. */
export function vectorize(sig: Signature): Float32Array {
  const L = vectorLayout();
  const out = new Float32Array(L.dim);
  for (const b of L.blocks) {
    const bb = new BlockBuilder(b);
    const filled = fill(bb, sig, L);
    if (!filled) continue;
    let norm = 0;
    for (const x of bb.v) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const off = L.offsets.get(b.family)!;
    for (let i = 0; i < b.size; i++) out[off + i] = (bb.v[i]! / norm) * b.weight;
  }
  return out;
}

function fill(bb: BlockBuilder, sig: Signature, L: Layout): boolean {
  switch (bb.b.family) {
    case 'panic': {
      const p = sig.panic;
      if (!p || (!p.title && !p.frames.length)) return false;
      bb.num(0, p.corrupted ? 0.5 : 0);
      bb.num(1, p.message ? 0.5 : 0);
      if (p.kind) bb.sym(`kind:${p.kind}`, 1.5);
      if (p.title) bb.sym(`title:${p.title}`, 1.5);
      if (p.guilty) bb.sym(`guilty:${p.guilty}`, 2);
      if (p.guiltyModule) bb.sym(`module:${p.guiltyModule}`, 1);
      let pos = 0;
      let prev: string | null = null;
      for (const f of p.frames) {
        if (pos >= L.panicFrames) break;
        const name = MARKERS.has(f) ? f : frameFunction(f);
        const w = 1 / (1 + 0.25 * pos);
        bb.sym(`frame:${name}`, w);
        if (prev) bb.sym(`pair:${prev}>${name}`, w / 2);
        prev = name;
        pos++;
      }
      for (const t of p.followups) bb.sym(`followup:${t}`, 0.5);
      return true;
    }
    case 'locks': {
      const l = sig.locks;
      if (!l) return false;
      bb.num(0, log1p(l.blocked) / 3);
      bb.num(1, l.deadlock ? 1 : 0);
      bb.num(2, log1p(l.locks.length) / 2);
      bb.num(3, log1p(l.chains.length) / 2);
      for (const [k, n] of Object.entries(l.waitKinds)) bb.sym(`wait:${k}`, log1p(n));
      for (const [i, lk] of l.locks.entries()) {
        const w = 1 / (1 + i);
        bb.sym(`lock:${lk.name ?? `(${lk.kind})`}`, 2 * w);
        if (lk.module) bb.sym(`lockmod:${lk.module}`, w);
        for (const c of lk.waiterComms) bb.sym(`waiter:${c}`, 0.5 * w);
        if (lk.holder) {
          bb.sym(`holder:${lk.holder.comm.replace(/\d+/g, 'N')}`, w);
          bb.sym(`hstate:${lk.holder.state}`, 0.5 * w);
          lk.holder.frames.slice(0, L.holderFrames).forEach((f, j) => bb.sym(`hframe:${frameFunction(f)}`, (1.5 * w) / (1 + 0.3 * j)));
        }
      }
      for (const c of l.chains) bb.sym(`chain:${c.links.join(' ')}`, 0.5);
      return true;
    }
    case 'runqueue': {
      const r = sig.runqueue;
      if (!r) return false;
      bb.num(0, Math.min(r.ratio, 8) / 4);
      bb.num(1, log1p(r.max) / 2);
      bb.num(2, r.cpus.length ? r.idleCpus.length / r.cpus.length : 0);
      bb.num(3, r.idleWhileOverloaded ? 1 : 0);
      bb.num(4, r.longestRunning ? log1p(r.longestRunning.seconds) / 3 : 0);
      bb.num(5, log1p(r.throttled.length));
      bb.num(6, r.panicCpu ? log1p(r.panicCpu.nrRunning) / 2 : 0);
      bb.num(7, r.cpus.length ? Math.max(0, ...r.utilAvg) / 1024 : 0);
      if (r.longestRunning && r.longestRunning.seconds >= 1) bb.sym(`longest:${r.longestRunning.comm.replace(/\d+/g, 'N')}`, 1);
      if (r.panicCpu?.curr) bb.sym(`curr:${r.panicCpu.curr}`, 0.5);
      for (const q of r.panicCpu?.queued ?? []) bb.sym(`queued:${q}`, 0.3);
      for (const t of r.throttled) bb.sym(`throttled:${t}`, 1);
      return true;
    }
    case 'cgroup': {
      const c = sig.cgroup;
      if (!c) return false;
      bb.num(0, log1p(c.hot.length) / 2);
      bb.num(1, log1p(c.throttled.length));
      bb.num(2, log1p(c.restricted.length));
      bb.num(3, log1p(c.hot.reduce((a, h) => a + h.blocked, 0)) / 3);
      for (const h of c.hot) bb.sym(`hot:${h.path}`, log1p(h.blocked * 2 + h.running));
      for (const p of c.throttled) bb.sym(`throttled:${p}`, 1);
      for (const p of c.restricted) bb.sym(`restricted:${p}`, 1);
      return true;
    }
    case 'taint': {
      const t = sig.taint;
      if (!t) return false;
      for (const ch of t.letters) {
        const k = ch.charCodeAt(0) - 65;
        if (k >= 0 && k < 26) bb.num(k, 0.5);
      }
      for (const m of t.modules) bb.sym(`module:${m.name}`, 0.5);
      for (const m of t.inPanicStack) bb.sym(`inpanic:${m}`, 1.5);
      for (const m of t.lockHolder) bb.sym(`holder:${m}`, 1);
      return true;
    }
    case 'cpu': {
      const c = sig.cpu;
      if (!c) return false;
      const n = Math.max(1, c.onlineCount);
      bb.num(0, log1p(c.onlineCount) / 3);
      bb.num(1, c.noRegisters.length / n);
      bb.num(2, c.idleCpus.length / n);
      bb.num(3, c.lazyTlb.length / n);
      bb.num(4, c.staleTlb.length / n);
      bb.num(5, c.busyCpus.length / n);
      for (const b of c.busy) bb.sym(`busy:${b.comm}`, 0.5);
      return true;
    }
  }
}

/** Where each family's block sits in the vector (for matchers that weigh or mask families). */
export function familyRanges(): Array<{ family: Family; start: number; end: number; weight: number }> {
  const L = vectorLayout();
  return L.blocks.map((b) => ({ family: b.family, start: L.offsets.get(b.family)!, end: L.offsets.get(b.family)! + b.size, weight: b.weight }));
}

