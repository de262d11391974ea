// Scorer version 7: between two dumps, a component that compares names
// weighs as much as those names are rare across the store, and the panic
// family's weight in the total follows the evidence left. Checked on the
// shared dumps (their labels say which are one mechanism) with rarity counted
// by hand: log((n + 1) / (df + 1)) / log(n + 1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, fixtureSignature } from '../helpers/fixtures.js';
import { viewOf, type SignatureView } from '../../src/similarity/view.js';
import { score, defaultParams } from '../../src/similarity/scorer.js';
import type { FrameStats } from '../../src/similarity/frames.js';

const view = (name: string): SignatureView => viewOf(fixtureSignature(name));
/** A store of n signatures in which each listed name occurs in the given number of them, others once. */
const stats = (n: number, df: Record<string, number>): FrameStats => ({ n, df: (f) => df[f] ?? 1 });
const params = defaultParams();
const floor = params.nameRarity!.floor;
const rarity = (n: number, df: number) => Math.max(floor, Math.log((n + 1) / (df + 1)) / Math.log(n + 1));

/** The hung task with its drawn-looking names renamed, as the lab draws them per run. */
function renamed(v: SignatureView, from: string, to: string): SignatureView {
  const s = JSON.stringify(v).split(from).join(to);
  return JSON.parse(s) as SignatureView;
}

test('two hung tasks that share only a name most of the store shares: the panic family says little', () => {
  assert.match(fixture('hung').meta.label, /^hung-task: lab_mutex held forever/);
  const a = view('hung');
  const b = renamed(a, 'lab_waiter', 'other_waiter');
  // Alone (no store to count over) the title, guilty function and stack differ fully.
  const alone = score(a, b);
  assert.equal(alone.families.panic.evidence, 1);
  // lab_waiter and other_waiter each in half of a 100-signature store.
  const common = stats(100, { lab_waiter: 50, other_waiter: 50, kthread: 100 });
  const s = score(a, b, common, params);
  const r = rarity(100, 50);
  // Title and guilty function are the name; the stack's rarest significant frame is the name too.
  const w = params.panic;
  const share = (x: number) => (w.stack! * x + w.title! * x + w.guilty! * x + w.kind!) / (w.stack! + w.title! + w.guilty! + w.kind!);
  assert.ok(Math.abs(s.families.panic.evidence! - share(r)) < 1e-9, `${s.families.panic.evidence} vs ${share(r)}`);
  assert.ok(s.families.panic.weight < params.families.panic * 0.5);
  assert.match(s.families.panic.differed.join(';'), /weigh little \(lab_waiter in 50 of 100, other_waiter in 50 of 100\): panic counts \d+ %/);
  // The same pair in a store where each name is in one signature: most of the weight again.
  const rare = score(a, b, stats(100, { lab_waiter: 1, other_waiter: 1, kthread: 100 }), params);
  assert.ok(Math.abs(rare.families.panic.evidence! - share(rarity(100, 1))) < 1e-9);
  assert.ok(rare.families.panic.evidence! > 0.85);
  // Agreeing on a common name earns less than agreeing on a rare one.
  assert.ok(score(a, a, common, params).families.panic.weight < score(a, a, stats(100, { kthread: 100 }), params).families.panic.weight);
});

test('what is not a name keeps its weight: the execution context, and the crash kind', () => {
  // The shared nullderef (process context) and timer (hardirq) dumps: one kind, two contexts.
  assert.match(fixture('nullderef').meta.label, /process context/);
  assert.match(fixture('timer').meta.label, /hardirq/);
  const a = view('nullderef');
  const b = view('timer');
  const all = stats(100, Object.fromEntries([...a.panic!.frames, ...b.panic!.frames].map((f) => [f, 100])));
  const s = score(a, b, all, params);
  assert.equal(s.families.panic.components!.kind, 1);
  assert.match(s.families.panic.differed.join(';'), /different contexts: process \/ hardirq/);
  // The stack (lowered by the context mismatch) and the kind keep their weight; the title and the
  // guilty function, which differ only in the function's name, are scaled to the floor.
  const w = params.panic;
  const expected = (w.stack! + w.title! * floor + w.guilty! * floor + w.kind!) / (w.stack! + w.title! + w.guilty! + w.kind!);
  assert.ok(Math.abs(s.families.panic.evidence! - expected) < 1e-9, `${s.families.panic.evidence} vs ${expected}`);
});

test('a console log on one side: nothing is scaled (the panic family is all there is)', () => {
  const a = view('hung');
  const b = { ...renamed(a, 'lab_waiter', 'other_waiter'), locks: null, runqueue: null, cgroup: null, taint: null, cpu: null } as SignatureView;
  const s = score(a, b, stats(100, { lab_waiter: 50, other_waiter: 50, kthread: 100 }), params);
  assert.equal(s.families.panic.evidence, 1);
  assert.equal(s.families.panic.weight, params.consoleFamilies.panic);
});
