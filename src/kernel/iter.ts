// Bounded, cycle-checked walks of the kernel's linked structures: list_head,
// hlist, rbtree. Dumps are torn in places; a walk that meets an unreadable
// or looping pointer records the problem and stops, never hangs.

import type { KObject } from './object.js';
import { Problems } from './problems.js';
import type { Type } from './types.js';

export interface WalkOptions {
  /** Stop after this many entries (default 1,000,000). */
  limit?: number;
  problems?: Problems;
  /** Describes the walk in problem reports. */
  context?: string;
}

const DEFAULT_LIMIT = 1_000_000;

/** Addresses of the list_heads linked from `head` (not including head itself). */
export function* listNodes(head: KObject, opts: WalkOptions = {}): Generator<bigint> {
  const prog = head.prog;
  const limit = opts.limit ?? DEFAULT_LIMIT;
  const ctx = opts.context ?? `list at ${head.hex()}`;
  const start = head.address!;
  const seen = new Set<bigint>();
  let prev = start;
  let cur: bigint;
  try {
    cur = prog.readU64(start);
  } catch (e) {
    (opts.problems ?? new Problems()).fromError(e, ctx);
    return;
  }
  for (let n = 0; cur !== start; n++) {
    if (n >= limit) {
      opts.problems?.add(`walk stopped after ${limit} entries`, cur, ctx);
      return;
    }
    if (cur === 0n) {
      opts.problems?.add('NULL next pointer: list is torn', prev, ctx);
      return;
    }
    if (seen.has(cur)) {
      opts.problems?.add('list loops back without reaching its head', cur, ctx);
      return;
    }
    seen.add(cur);
    let next: bigint;
    try {
      next = prog.readU64(cur);
    } catch (e) {
      (opts.problems ?? new Problems()).fromError(e, ctx);
      return;
    }
    yield cur;
    prev = cur;
    cur = next;
  }
}

/** list_for_each_entry(pos, head, member), as objects of `type`. */
export function* listForEachEntry(head: KObject, type: Type | string, member: string, opts: WalkOptions = {}): Generator<KObject> {
  const prog = head.prog;
  const t = typeof type === 'string' ? prog.type(type) : type;
  const off = BigInt(prog.offsetOf(t, member));
  for (const node of listNodes(head, opts)) yield prog.objectAt(t, node - off);
}

export function listCount(head: KObject, opts: WalkOptions = {}): number {
  let n = 0;
  for (const _ of listNodes(head, opts)) n++;
  return n;
}

export function listEmpty(head: KObject): boolean {
  return head.prog.readU64(head.address!) === head.address;
}

/** hlist_for_each_entry: `head` is a struct hlist_head. */
export function* hlistForEachEntry(head: KObject, type: Type | string, member: string, opts: WalkOptions = {}): Generator<KObject> {
  const prog = head.prog;
  const t = typeof type === 'string' ? prog.type(type) : type;
  const off = BigInt(prog.offsetOf(t, member));
  const limit = opts.limit ?? DEFAULT_LIMIT;
  const ctx = opts.context ?? `hlist at ${head.hex()}`;
  const seen = new Set<bigint>();
  let cur: bigint;
  try {
    cur = prog.readU64(head.address!);
  } catch (e) {
    (opts.problems ?? new Problems()).fromError(e, ctx);
    return;
  }
  for (let n = 0; cur !== 0n; n++) {
    if (n >= limit || seen.has(cur)) {
      opts.problems?.add(n >= limit ? `walk stopped after ${limit} entries` : 'hlist loops', cur, ctx);
      return;
    }
    seen.add(cur);
    let next: bigint;
    try {
      next = prog.readU64(cur);
    } catch (e) {
      (opts.problems ?? new Problems()).fromError(e, ctx);
      return;
    }
    yield prog.objectAt(t, cur - off);
    cur = next;
  }
}

/** In-order walk of an rb_root (or rb_root_cached's rb_root), yielding node addresses. */
export function* rbtreeNodes(root: KObject, opts: WalkOptions = {}): Generator<bigint> {
  const prog = root.prog;
  const limit = opts.limit ?? DEFAULT_LIMIT;
  const ctx = opts.context ?? `rbtree at ${root.hex()}`;
  const problems = opts.problems ?? new Problems();
  // struct rb_node { unsigned long __rb_parent_color; rb_right; rb_left; } — offsets from BTF.
  const rbRight = BigInt(prog.offsetOf('struct rb_node', 'rb_right'));
  const rbLeft = BigInt(prog.offsetOf('struct rb_node', 'rb_left'));
  const seen = new Set<bigint>();
  const stack: bigint[] = [];
  let cur: bigint;
  try {
    cur = prog.readU64(root.address!);
  } catch (e) {
    problems.fromError(e, ctx);
    return;
  }
  let n = 0;
  while (cur !== 0n || stack.length) {
    while (cur !== 0n) {
      if (seen.has(cur) || ++n > limit) {
        problems.add(seen.has(cur) ? 'rbtree node visited twice' : `walk stopped after ${limit} nodes`, cur, ctx);
        return;
      }
      seen.add(cur);
      stack.push(cur);
      try {
        cur = prog.readU64(cur + rbLeft);
      } catch (e) {
        problems.fromError(e, ctx);
        return;
      }
    }
    const node = stack.pop()!;
    yield node;
    try {
      cur = prog.readU64(node + rbRight);
    } catch (e) {
      problems.fromError(e, ctx);
      return;
    }
  }
}

export function* rbtreeForEachEntry(root: KObject, type: Type | string, member: string, opts: WalkOptions = {}): Generator<KObject> {
  const prog = root.prog;
  const t = typeof type === 'string' ? prog.type(type) : type;
  const off = BigInt(prog.offsetOf(t, member));
  for (const node of rbtreeNodes(root, opts)) yield prog.objectAt(t, node - off);
}
