// vaat eval on real labelled data. The seven shared dumps by root-cause
// class: the full signature finds same-class dumps the panic stack cannot
// (the intent of the first leave-one-out test). The syzbot corpus, test half
// (root causes the scorer's weights and thresholds were never fitted on):
// the engine's recall@1 is above syzbot's own title equality on the same
// queries; the table is printed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { vaat } from '../helpers/cli.js';
import { KERNEL_DIR } from '../helpers/fixtures.js';
import { SYZBOT } from '../helpers/syzbot.js';
import { loadEvalSet, allMatchers } from '../../src/cli/eval.js';
import { evaluate } from '../../src/similarity/eval/run.js';
import { labelClass } from '../../datasets/labelled.js';
import type { EvalItem } from '../../src/similarity/eval/types.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('vaat-eval-');

test('the shared dumps by root-cause class: the engine ranks same-class dumps first where panic-stack matchers cannot', async () => {
  const set = await loadEvalSet(path.dirname(KERNEL_DIR), { jobs: 2, cache: null });
  assert.equal(set.items.length, 7);
  // By class (hung-task, soft-lockup, null-deref, …), every dump a query, one split: every query measured.
  const items: EvalItem[] = set.items.map((it) => ({ ...it, label: labelClass(it.label), split: 'test' }));
  const r = evaluate(items, allMatchers(items), { protocols: ['loo'], clustering: false, rounds: 50 });
  const rr1 = (name: RegExp) => r.matchers.find((m) => name.test(m.matcher))!.test.protocols[0]!.rr1!.value;
  const queries = r.matchers[0]!.test.protocols[0]!.withRelevant;
  assert.equal(queries, 4, 'two soft lockups and two null derefs have a same-class dump');
  const engine = rr1(/^engine \(full/);
  for (const base of [/^engine, panic/, /title equality \(ours\)/, /SysOM/, /FAF/, /FaST/]) assert.ok(engine > rr1(base), `engine ${engine} vs ${base}: ${rr1(base)}`);
});

test('syzbot corpus, test half: the engine beats syzbot\'s title equality at recall@1 on the same queries', () => {
  const dir = path.join(tmp, 'syzbot');
  assert.equal(vaat(['dataset', 'syzbot', SYZBOT, '-o', dir]).code, 0);
  const r = vaat(['eval', '--set', dir, '--protocol', 'loo,leave-label-out', '--no-clustering', '--rounds', '200', '--json', '--rankings', path.join(tmp, 'rank.jsonl')], { timeoutMs: 900_000 });
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as { split: { test: { items: number } }; matchers: Array<{ matcher: string; test: { protocols: Array<{ protocol: string; rr1: { value: number; lo: number; hi: number } | null; auc: { value: number } | null; queries: number }> } }> };
  const loo = (m: RegExp) => rep.matchers.find((x) => m.test(x.matcher))!.test.protocols.find((p) => p.protocol === 'loo')!;
  const engine = loo(/^engine \(full/);
  const syz = loo(/syzbot's/);
  console.log(rep.matchers.map((m) => `${m.matcher.padEnd(34)} RR@1 ${m.test.protocols[0]!.rr1?.value.toFixed(3)} AUC ${m.test.protocols[0]!.auc?.value.toFixed(3)}`).join('\n'));
  assert.equal(engine.queries, rep.split.test.items);
  assert.ok(engine.rr1!.value > syz.rr1!.value, `engine ${engine.rr1!.value} vs syzbot title ${syz.rr1!.value}`);
  // The rankings file: one line per query of each half (marked), manifest ids, at most 10 candidates best first.
  const ranks = fs.readFileSync(path.join(tmp, 'rank.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { query: string; split: string; candidates: Array<{ id: string; score: number }>; decision: string });
  assert.equal(ranks.filter((q) => q.split === 'test').length, rep.split.test.items);
  assert.equal(ranks.filter((q) => q.split === 'tune').length, (rep.split as unknown as { tune: { items: number } }).tune.items);
  // The halves are the manifest's (split by cluster): every line's query is in the half it says.
  const half = new Map((JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { entries: Array<{ id: string; split: string }> }).entries.map((e) => [e.id, e.split]));
  for (const q of ranks) assert.equal(half.get(q.query), q.split, q.query);
  for (const q of ranks) {
    assert.match(q.query, /^S\d{5}$/);
    assert.ok(q.candidates.length <= 10);
    for (let i = 1; i < q.candidates.length; i++) assert.ok(q.candidates[i - 1]!.score >= q.candidates[i]!.score);
    assert.ok(['duplicate', 'new', 'uncertain'].includes(q.decision));
  }
});

test('the fitted clustering cut: when several cuts give the tuning half its best B³ F1, the middle one, not the plateau\'s edge', () => {
  // Two root causes per half, four items each; within a root cause similarity 0.9, across 0.2: every
  // cut from 0.25 to 0.90 on the grid separates them exactly (B³ F1 1), 0.05 to 0.20 merge them.
  const label = (i: number) => `cause-${i >> 2}`;
  const items = Array.from({ length: 16 }, (_, i) => ({ idx: i, id: `i${i}`, label: label(i), kind: 'log', time: null, group: null, split: i < 8 ? 'tune' : 'test', extra: {} }) as unknown as EvalItem);
  const sim = (a: number, b: number) => (label(a) === label(b) ? 0.9 : 0.2);
  const matcher = {
    name: 'two-level', about: 'within 0.9, across 0.2', calibrated: true, missing: 'zero' as const,
    scores: (q: number, allow: (i: number) => boolean) => new Map(items.filter((it) => it.idx !== q && allow(it.idx)).map((it) => [it.idx, sim(q, it.idx)])),
    edges: (ids: number[]) => ids.flatMap((a, x) => ids.slice(x + 1).map((b) => ({ a, b, similarity: sim(a, b) }))),
  };
  const r = evaluate(items, [matcher], { protocols: ['loo'], rounds: 20 });
  const cut = r.matchers[0]!.thresholds.cluster!;
  // Ties: 0.25, 0.30, …, 0.90 (14 cuts); the middle (lower of the two middles) is 0.55.
  assert.ok(Math.abs(cut - 0.55) < 1e-9, `cut ${cut}`);
  assert.equal(r.matchers[0]!.test.clustering!.f1!.value, 1);
});
