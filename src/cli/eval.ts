// `vaat eval --set <manifest>`: read a labelled set (dumps and/or console
// logs), extract every signature (in worker threads, cached by file, rules
// version and the extracting code itself), split it into a tuning and a test half by root cause, and run
// every matcher through the protocols (src/similarity/eval/run.ts).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLabelled, type LabelledItem } from '../../datasets/labelled.js';
import type { Signature } from '../../features/signature.js';
import { vectorize } from '../../features/vector.js';
import { rulesVersion } from '../../features/rules.js';
import { viewOf } from '../similarity/view.js';
import { ablateNames } from '../similarity/eval/ablate.js';
import type { EvalItem } from '../similarity/eval/types.js';
import { runPool } from '../report/pool.js';
import { extract, type ExtractJob, type ExtractResult } from '../report/extract.js';
import { fileDigest, sweep, touch } from '../util/diskcache.js';

export interface LoadedSet {
  items: EvalItem[];
  failed: Array<{ id: string; error: string }>;
  splitBy: 'manifest' | 'label';
}

let codeHash: string | null = null;

/**
 * The code that makes a signature — the reader, the helpers and the feature families, as
 * built — hashed once: a fix there changes signatures without touching a rules file, and a
 * cached signature made by the old code must not be served.
 */
function extractorCode(): string {
  if (codeHash) return codeHash;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const h = crypto.createHash('sha1');
  for (const dir of ['features', 'src/dump', 'src/arch', 'src/kernel', 'src/helpers']) {
    const abs = path.join(root, dir);
    if (!fs.existsSync(abs)) continue;
    const files = fs.readdirSync(abs, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js')).sort();
    for (const f of files) h.update(`${dir}/${f}\0`).update(fs.readFileSync(path.join(abs, f)));
  }
  codeHash = h.digest('hex').slice(0, 12);
  return codeHash;
}

/** Files up to this size are keyed by their bytes: a copied corpus (a CI checkout, a new machine) finds its entries. */
const HASHED_UP_TO = 16 << 20;

/**
 * The cache entry's name. Console logs and small dumps by content; a large dump by its path, size and time, since
 * hashing hundreds of megabytes per dump on every run would cost most of what the cache saves (a lab's dumps are
 * written once and not copied about).
 */
function cacheKey(it: LabelledItem): string {
  const st = fs.statSync(it.path);
  const id = st.size <= HASHED_UP_TO ? `sha256:${fileDigest(it.path)}` : `${path.resolve(it.path)}|${st.size}|${Math.floor(st.mtimeMs)}`;
  return crypto.createHash('sha1').update(`${id}|${it.kind}|${rulesVersion()}|${extractorCode()}`).digest('hex');
}

/** Entries no run has read for this long are removed (each code change to the extractor makes a new generation). */
const CACHE_MAX_AGE_MS = 14 * 86_400_000;

/** The half of a root cause: the manifest's split when it keeps every root cause on one side, else a hash of the label. */
export function splitItems(items: LabelledItem[]): { of: (it: LabelledItem) => 'tune' | 'test'; by: 'manifest' | 'label' } {
  const norm = (s: string | null) => (s === null ? null : /^(tune|train|dev)$/i.test(s) ? 'tune' : /^test$/i.test(s) ? 'test' : null);
  const seen = new Map<string, string | null>();
  let consistent = items.every((it) => norm(it.split) !== null);
  for (const it of items) {
    const s = norm(it.split);
    if (seen.has(it.label) && seen.get(it.label) !== s) consistent = false;
    seen.set(it.label, s);
  }
  if (consistent) return { of: (it) => norm(it.split) as 'tune' | 'test', by: 'manifest' };
  return { of: (it) => (crypto.createHash('sha256').update(it.label).digest()[0]! & 1 ? 'test' : 'tune'), by: 'label' };
}

export async function loadEvalSet(input: string, opts: { jobs: number; cache?: string | null; ablateNames?: boolean; progress?: (done: number, total: number, name: string) => void }): Promise<LoadedSet> {
  const labelled = loadLabelled(input);
  const cacheDir = opts.cache === null ? null : opts.cache ?? path.join(os.tmpdir(), 'vaat-eval-cache');
  if (cacheDir) {
    fs.mkdirSync(cacheDir, { recursive: true });
    sweep(cacheDir, { maxAgeMs: CACHE_MAX_AGE_MS, everyMs: 86_400_000 });
  }
  const sigs: Array<Signature | null> = new Array(labelled.length).fill(null);
  const failed: LoadedSet['failed'] = [];
  const todo: number[] = [];
  for (const [i, it] of labelled.entries()) {
    if (!fs.existsSync(it.path)) {
      failed.push({ id: it.id, error: `${it.path}: no such file` });
      continue;
    }
    const file = cacheDir ? path.join(cacheDir, `${cacheKey(it)}.json`) : null;
    if (file && fs.existsSync(file)) {
      try {
        sigs[i] = JSON.parse(fs.readFileSync(file, 'utf8')) as Signature;
        touch(file);
        continue;
      } catch {
        /* unreadable cache entry: extract again */
      }
    }
    todo.push(i);
  }
  let done = labelled.length - todo.length;
  const store = (i: number, r: ExtractResult) => {
    done++;
    opts.progress?.(done, labelled.length, labelled[i]!.id);
    if (!r.ok) {
      failed.push({ id: labelled[i]!.id, error: r.error });
      return;
    }
    sigs[i] = r.signature;
    if (cacheDir) {
      const file = path.join(cacheDir, `${cacheKey(labelled[i]!)}.json`);
      fs.writeFileSync(`${file}.${process.pid}`, JSON.stringify(r.signature));
      fs.renameSync(`${file}.${process.pid}`, file);
    }
  };
  const jobOf = (i: number): ExtractJob => ({ path: labelled[i]!.path, as: labelled[i]!.kind === 'vmcore' ? 'dump' : 'log', program: {} });
  const dumps = todo.filter((i) => labelled[i]!.kind === 'vmcore');
  for (const i of todo.filter((x) => labelled[x]!.kind === 'log')) store(i, await extract(jobOf(i)));
  if (dumps.length > 1 && opts.jobs > 1) {
    await runPool<ExtractJob, ExtractResult>(new URL('../report/extract-worker.js', import.meta.url), dumps.map(jobOf), {
      jobs: opts.jobs, timeoutS: 600,
      failure: (_, reason) => ({ ok: false, error: reason, seconds: 0 }),
      onResult: (k, r) => store(dumps[k]!, r),
    });
  } else for (const i of dumps) store(i, await extract(jobOf(i)));
  const split = splitItems(labelled);
  const items: EvalItem[] = [];
  for (const [i, it] of labelled.entries()) {
    const sig = sigs[i] && opts.ablateNames ? ablateNames(sigs[i]!) : sigs[i];
    if (!sig) continue;
    items.push({
      idx: items.length, id: it.id, label: it.label, kind: it.kind, time: it.time, group: it.group, split: split.of(it),
      sig, view: viewOf(sig), vector: vectorize(sig), extra: it.extra,
    });
  }
  return { items, failed, splitBy: split.by };
}

export { setFrameStats, allMatchers } from '../similarity/eval/matchers/all.js';
