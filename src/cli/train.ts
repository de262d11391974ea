// `vaat train --set <manifest…> --out models/<name>`: train the pairwise
// ranker on the tuning halves of labelled sets, evaluate it on their test
// halves beside the hand-set scorer and the baselines, and write the model
// with its card.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { wholeNumber } from './args.js';

interface Ctx {
  g: (cmd: Command) => Record<string, unknown>;
  fail: (what: string, e: unknown) => never;
  progress: (done: number, total: number, text: string) => void;
}

function manifestFile(p: string): string {
  return fs.statSync(p).isDirectory() ? path.join(p, 'manifest.json') : p;
}

export function addTrainCommand(program: Command, ctx: Ctx): void {
  program
    .command('train')
    .description('train the learned known-issue ranker on labelled sets (tuning halves), evaluate it on their test halves, write model.json, weights.bin, CARD.md and card.json')
    .requiredOption('--set <manifest...>', 'labelled sets (manifest.json or its directory)')
    .requiredOption('--out <dir>', 'where to write the model (models/<name>)')
    .option('--seed <n>', 'seed: the same seed and data give the same model', wholeNumber(0, 2 ** 31 - 1), 1)
    .option('--epochs <n>', 'at most this many epochs (early stopping on validation labels)', wholeNumber(1, 100_000), 80)
    .option('--rounds <n>', 'bootstrap rounds of the card\'s intervals', wholeNumber(1, 1_000_000), 1000)
    .option('--no-card', 'skip the evaluation and the card')
    .option('-j, --jobs <n>', 'extraction worker threads for dumps', wholeNumber(1, 256))
    .action(async (_o, cmd: Command) => {
      const o = ctx.g(cmd);
      const tty = process.stderr.isTTY;
      const say = (l: string) => (tty ? process.stderr.write(`\r${l.slice(0, 100).padEnd(100)}`) : undefined);
      const { loadEvalSet, setFrameStats } = await import('./eval.js');
      const { trainRanker } = await import('../models/train.js');
      const { Ranker } = await import('../models/ranker.js');
      const { defaultParams } = await import('../similarity/scorer.js');
      const { evalWithModel, importances, writeCard } = await import('../models/card.js');
      const { vectorVersion, rulesVersion } = await import('../../features/rules.js');
      const params = defaultParams();
      const seed = Number(o.seed);
      const out = String(o.out);
      const sets = [];
      const cardSets = [];
      try {
        for (const s of o.set as string[]) {
          const file = manifestFile(s);
          const set = await loadEvalSet(s, { jobs: o.jobs ? Number(o.jobs) : os.availableParallelism(), progress: tty ? (d, t, n) => ctx.progress(d, t, n) : undefined });
          for (const f of set.failed) console.error(`vaat: train: ${f.id}: ${f.error}`);
          const name = path.basename(path.dirname(path.resolve(file)));
          const half = (h: 'tune' | 'test') => set.items.filter((it) => it.split === h);
          const count = (xs: typeof set.items) => ({ items: xs.length, labels: new Set(xs.map((x) => x.label)).size });
          sets.push({ name, items: set.items, frames: setFrameStats(set.items) });
          cardSets.push({
            name, manifest: file, sha256: crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
            items: set.items.length, failed: set.failed.length, splitBy: set.splitBy, tune: count(half('tune')), test: count(half('test')),
          });
        }
        const r = await trainRanker(sets, path.basename(path.resolve(out)), out, { seed, params, maxEpochs: Number(o.epochs), progress: say });
        if (tty) process.stderr.write('\n');
        process.stdout.write(`trained ${r.meta.name} in ${r.seconds.toFixed(1)} s on the ${r.backend} backend: ${r.epochs} epochs, ${r.pairs.train} training pairs (${r.labels.train} labels), ${r.pairs.validation} validation pairs (${r.labels.validation} labels); τ_dup ${r.meta.thresholds.duplicate}, τ_new ${r.meta.thresholds.new}\n`);
        if (o.card === false) return;
        const ranker = await Ranker.load(out, params);
        const evals: Record<string, import('../similarity/eval/run.js').EvalReport> = {};
        const imps: Record<string, import('../models/card.js').Importance[]> = {};
        for (const s of sets) {
          say(`${s.name}: evaluating on the test half`);
          evals[s.name] = evalWithModel(s, ranker, params, Number(o.rounds));
          imps[s.name] = importances(s, ranker, params, seed);
        }
        if (tty) process.stderr.write('\n');
        writeCard(out, {
          name: r.meta.name, format: 'vaat-ranker-card-1', trainedAt: r.meta.trainedAt, seed, backend: r.backend, seconds: Math.round(r.seconds * 10) / 10, epochs: r.epochs,
          modelBytes: fs.statSync(path.join(out, 'weights.bin')).size, featureLayout: r.meta.featureLayout, vectorVersion: vectorVersion(), rulesVersion: rulesVersion(),
          features: r.meta.features, thresholds: r.meta.thresholds, scope: r.meta.scope,
          training: { ...r.pairs, labels: r.labels, split: 'a fifth of the tuning labels by sha256(seed:label); pairs never cross it' },
          sets: cardSets, eval: evals, importances: imps,
        });
        for (const [n, e] of Object.entries(evals)) {
          const loo = (i: number) => e.matchers[i]!.test.protocols.find((p) => p.protocol === 'loo')!;
          const f = (x: { value: number } | null) => (x ? x.value.toFixed(3) : '-');
          process.stdout.write(`${n} test half: model RR@1 ${f(loo(0).rr1)}, recall@P≥0.95 ${f(loo(0).recallAtTarget)}, AUC ${f(loo(0).auc)}; hand-set scorer ${f(loo(1).rr1)}, ${f(loo(1).recallAtTarget)}, ${f(loo(1).auc)}\n`);
        }
        process.stdout.write(`card: ${path.join(out, 'CARD.md')}\n`);
      } catch (e) {
        ctx.fail('train', e);
      }
    });
}
