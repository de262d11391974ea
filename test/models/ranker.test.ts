// The learned ranker shipped in models/: it loads, it reproduces the figures
// its card records on the syzbot corpus's test half (root causes training
// never saw; labels from the corpus, not from vaat), it beats the labels'
// own title baseline there, and everything that can go wrong with a model —
// missing or corrupt files, another feature layout, a wasm backend that does
// not start — is one line and the hand-set scorer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { vaat } from '../helpers/cli.js';
import { KERNEL_DIR } from '../helpers/fixtures.js';
import { SYZBOT } from '../helpers/syzbot.js';
import { packageRoot } from '../../src/util/datafile.js';
import { loadEvalSet, setFrameStats } from '../../src/cli/eval.js';
import { evaluate } from '../../src/similarity/eval/run.js';
import { modelMatcher } from '../../src/similarity/eval/matchers/model.js';
import { engineMatcher } from '../../src/similarity/eval/matchers/engine.js';
import { syzbotTitleMatcher } from '../../src/similarity/eval/matchers/title.js';
import { Ranker, ModelError } from '../../src/models/ranker.js';
import { defaultParams } from '../../src/similarity/scorer.js';
import type { Card } from '../../src/models/card.js';
import { tempDir } from '../helpers/tmp.js';

const MODEL = path.join(packageRoot(), 'models', 'ranker-v1');
const tmp = tempDir('vaat-model-');
const card = JSON.parse(fs.readFileSync(path.join(MODEL, 'card.json'), 'utf8')) as Card;

test('the shipped model is small, loads on the wasm backend, and its card names its data', async () => {
  const bytes = fs.readdirSync(MODEL).reduce((a, f) => a + fs.statSync(path.join(MODEL, f)).size, 0);
  assert.ok(fs.statSync(path.join(MODEL, 'model.json')).size + fs.statSync(path.join(MODEL, 'weights.bin')).size <= 1 << 20, 'model ≤ 1 MB');
  assert.ok(bytes < 4 << 20);
  const rk = await Ranker.load(MODEL, defaultParams());
  assert.equal(rk.backend, 'wasm');
  assert.deepEqual(card.sets.map((s) => s.name).sort(), ['lab', 'syzbot-clusters-dev']);
  assert.ok(card.seconds <= 600, `training took ${card.seconds} s`);
  assert.equal(card.features.length, rk.meta.features.length);
});

test('syzbot corpus, test half: the model reproduces its card and beats the hand-set scorer at recall with precision ≥ 0.95', async () => {
  const dir = path.join(tmp, 'syzbot-clusters-dev');
  assert.equal(vaat(['dataset', 'syzbot', SYZBOT, '-o', dir]).code, 0);
  const set = await loadEvalSet(dir, { jobs: 2 });
  assert.equal(set.items.length, card.sets.find((s) => s.name === 'syzbot-clusters-dev')!.items);
  const frames = setFrameStats(set.items);
  const params = defaultParams();
  const rk = await Ranker.load(MODEL, params);
  const r = evaluate(set.items, [
    modelMatcher(set.items, frames, rk, { name: 'model', about: '', params }),
    engineMatcher(set.items, frames, { name: 'engine', about: '', params }),
    syzbotTitleMatcher(set.items)!,
  ], { protocols: ['loo'], clustering: false, rounds: 100 });
  const loo = (i: number) => r.matchers[i]!.test.protocols[0]!;
  const want = card.eval['syzbot-clusters-dev']!.matchers;
  const wLoo = (i: number) => want[i]!.test.protocols.find((p) => p.protocol === 'loo')!;
  assert.match(want[0]!.matcher, /model/);
  assert.match(want[1]!.matcher, /engine \(full/);
  for (const k of ['rr1', 'mrr', 'auc', 'recallAtTarget'] as const) {
    for (const [mine, theirs] of [[0, 0], [1, 1]]) {
      const a = loo(mine)[k]!.value;
      const b = wLoo(theirs)[k]!.value;
      assert.ok(Math.abs(a - b) <= 0.01, `${r.matchers[mine]!.matcher} ${k}: ${a} here, ${b} in the card`);
    }
  }
  // Against the corpus's labels: the model's recall at precision ≥ 0.95 beats the
  // hand-set scorer's, and its recall@1 beats syzbot's own title equality.
  assert.ok(loo(0).recallAtTarget!.value > loo(1).recallAtTarget!.value, `model ${loo(0).recallAtTarget!.value} vs scorer ${loo(1).recallAtTarget!.value}`);
  assert.ok(loo(0).rr1!.value > loo(2).rr1!.value + 0.1);
});

function copyModel(name: string): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  for (const f of ['model.json', 'weights.bin']) fs.copyFileSync(path.join(MODEL, f), path.join(d, f));
  return d;
}

test('a broken model is one line (ModelError), never a crash', async () => {
  const params = defaultParams();
  const cases: Array<[string, (d: string) => void, RegExp]> = [
    ['missing', (d) => fs.rmSync(path.join(d, 'model.json')), /no model here/],
    ['not json', (d) => fs.writeFileSync(path.join(d, 'model.json'), '{"modelTopology": '), /not a model/],
    ['no vaat metadata', (d) => fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [] })), /not a vaat ranker/],
    ['truncated weights', (d) => fs.truncateSync(path.join(d, 'weights.bin'), 100), /weights.bin has 100 bytes/],
    ['weights missing', (d) => fs.rmSync(path.join(d, 'weights.bin')), /weights missing/],
    ['another feature layout', (d) => {
      const j = JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8'));
      j.vaat.featureLayout = '0123456789abcdef';
      fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(j));
    }, /trained on feature layout 0123456789abcdef.*retrain/],
    ['thresholds out of order', (d) => {
      const j = JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8'));
      j.vaat.thresholds = { duplicate: 0.2, new: 0.9 };
      fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(j));
    }, /thresholds must satisfy/],
    ['topology garbage', (d) => {
      const j = JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8'));
      j.modelTopology = { class_name: 'Nonsense', config: {} };
      fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(j));
    }, /does not load/],
  ];
  for (const [name, spoil, msg] of cases) {
    const d = copyModel(name.replace(/ /g, '-'));
    spoil(d);
    await assert.rejects(Ranker.load(d, params), (e: Error) => e instanceof ModelError && msg.test(e.message) && !e.message.includes('\n'), name);
  }
});

test('vaat match with a broken model: one line, then the hand-set scorer decides', () => {
  const store = path.join(tmp, 'store');
  const dumps = KERNEL_DIR;
  const logs = fs.readdirSync(dumps).map((d) => path.join(dumps, d, 'console.log')).filter((f) => fs.existsSync(f));
  assert.ok(logs.length >= 5);
  assert.equal(vaat(['ingest', '--store', store, '--logs', ...logs]).code, 0);
  const broken = copyModel('broken-for-match');
  fs.truncateSync(path.join(broken, 'weights.bin'), 10);
  const r = vaat(['match', '--store', store, '--log', logs[0]!, '--model', broken, '--json']);
  assert.equal(r.code, 0, r.err);
  const lines = r.err.trim().split('\n').filter((l) => /model/.test(l));
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0]!, /^vaat: model: .*weights\.bin has 10 bytes.*hand-set scorer$/);
  const m = JSON.parse(r.out);
  assert.notEqual(m.decision.scale, 'model');
  // The same console log is stored: the scorer finds it at 1 (same-text log).
  assert.equal(m.matches[0].score, 1);
  // With the shipped model configured, the console query is ranked by probabilities.
  const ok = vaat(['match', '--store', store, '--log', logs[0]!, '--model', MODEL, '--json']);
  assert.equal(ok.code, 0, ok.err);
  const mm = JSON.parse(ok.out);
  assert.equal(mm.decision.scale, 'model');
  assert.equal(mm.decision.model, 'ranker-v1');
  assert.ok(mm.matches[0].score > 0.5 && mm.matches[0].score <= 1);
  // --model none goes back to the scorer, and stays so.
  assert.equal(JSON.parse(vaat(['match', '--store', store, '--log', logs[0]!, '--model', 'none', '--json']).out).decision.scale === 'model', false);
  assert.equal(JSON.parse(vaat(['match', '--store', store, '--log', logs[0]!, '--json']).out).decision.scale === 'model', false);
});

test('a wasm backend that does not start: one notice, the cpu backend, the same probabilities', () => {
  const script = `
    import { Ranker } from ${JSON.stringify(path.join(packageRoot(), 'dist', 'src', 'models', 'ranker.js'))};
    import { defaultParams } from ${JSON.stringify(path.join(packageRoot(), 'dist', 'src', 'similarity', 'scorer.js'))};
    const rk = await Ranker.load(${JSON.stringify(MODEL)}, defaultParams(), (l) => console.error('notice: ' + l));
    const row = rk.meta.features.map((_, i) => (i % 3) / 3);
    console.log(JSON.stringify({ backend: rk.backend, p: rk.predict([row])[0] }));`;
  const file = path.join(packageRoot(), 'dist', `wasm-probe-${process.pid}.mjs`);
  fs.writeFileSync(file, script);
  try {
    const run = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, ...env } });
      return { code: r.status as number, out: r.stdout as string, err: r.stderr as string };
    };
    const good = run({});
    const bad = run({ VAAT_TF_WASM_PATH: path.join(tmp, 'no-wasm-here') });
    assert.equal(good.code, 0, good.err);
    assert.equal(bad.code, 0, bad.err);
    const g = JSON.parse(good.out);
    const b = JSON.parse(bad.out);
    assert.equal(g.backend, 'wasm');
    assert.equal(b.backend, 'cpu');
    assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
    assert.match(bad.err, /^notice: tfjs wasm backend did not start \(.*no-wasm-here.*\): using the cpu backend/);
    assert.ok(Math.abs(g.p - b.p) < 1e-4, `${g.p} vs ${b.p}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
});
