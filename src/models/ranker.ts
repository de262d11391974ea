// The learned known-issue ranker: a small MLP (tfjs layers API) that maps a
// pair's comparison features (src/models/features.ts) to the probability
// that both crashes have the same root cause. It runs on tfjs's WebAssembly
// backend (its .wasm ships in the npm package), on the pure-JS cpu backend
// when that fails to start (with a notice), and on tfjs-node only if it
// happens to be installed. A model directory holds model.json (the tfjs
// topology and weight manifest, plus what vaat needs to trust it: the
// feature layout it was trained on, its thresholds) and weights.bin.
//
// Anything wrong with a model — missing or corrupt files, another feature
// layout, a backend that will not start — is one line (ModelError) and the
// caller goes on with the hand-set scorer.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs';
import { featureLayout, featureNames, pairFeatures } from './features.js';
import { applyPlatt } from './calibration.js';
import type { FrameStats } from '../similarity/frames.js';
import type { SignatureView } from '../similarity/view.js';
import type { Score } from '../similarity/scorer.js';
import type { ScorerParams } from '../similarity/compare/types.js';

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

export interface ModelMeta {
  format: 'vaat-ranker-1';
  name: string;
  featureLayout: string;
  features: string[];
  vectorVersion: number;
  /** Probability thresholds fitted on the training data's validation labels. */
  thresholds: { duplicate: number; new: number };
  /**
   * Which queries the model ranks: 'console' — console-log queries only (every
   * pair is then on the console scale); vmcore queries keep the hand-set
   * scorer. 'all' — every query.
   */
  scope: 'console' | 'all';
  /** Platt scaling of the network's output, fitted on the validation labels' best candidates. */
  calibration?: { a: number; b: number };
  trainedAt: string;
  seed: number;
}

let tfPromise: Promise<{ tf: typeof TF; backend: string }> | null = null;

/** tfjs with the best backend that starts: tfjs-node when installed, else wasm, else cpu (with a notice). */
export function loadTf(notice?: (line: string) => void): Promise<{ tf: typeof TF; backend: string }> {
  tfPromise ??= (async () => {
    const require = createRequire(import.meta.url);
    try {
      require.resolve('@tensorflow/tfjs-node');
      const tf = (await import('@tensorflow/tfjs-node' as string)) as typeof TF;
      return { tf, backend: 'tensorflow' };
    } catch {
      /* not installed: it cannot be here (its install downloads a binary) */
    }
    const tf = await import('@tensorflow/tfjs');
    // Production mode: no debug checks, and no advice banners on stderr.
    tf.enableProdMode();
    // A wasm start that fails prints emscripten's complaints on the console: held
    // back while it starts, and summed up in one notice.
    const held: string[] = [];
    const saved = { error: console.error, warn: console.warn, log: console.log };
    try {
      if (process.env.VAAT_TF_BACKEND === 'cpu') throw new Error('cpu backend asked for (VAAT_TF_BACKEND=cpu)');
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // VAAT_TF_WASM_PATH: where the .wasm files are, when not beside the package's js.
      const dir = process.env.VAAT_TF_WASM_PATH ?? path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
      wasm.setWasmPaths(dir.endsWith(path.sep) ? dir : dir + path.sep);
      console.error = console.warn = console.log = (...a: unknown[]) => void held.push(a.map(String).join(' '));
      const ok = await tf.setBackend('wasm');
      Object.assign(console, saved);
      if (!ok) throw new Error(held.find((l) => /ENOENT|abort|fail/i.test(l))?.replace(/^Aborted\((.*)\)$/, '$1').slice(0, 160) ?? 'setBackend(wasm) refused');
      await tf.ready();
      return { tf, backend: 'wasm' };
    } catch (e) {
      Object.assign(console, saved);
      notice?.(`tfjs wasm backend did not start (${(e as Error).message.split('\n')[0]}): using the cpu backend`);
      await tf.setBackend('cpu');
      await tf.ready();
      return { tf, backend: 'cpu' };
    }
  })();
  return tfPromise;
}

export class Ranker {
  private constructor(
    private readonly tf: typeof TF,
    private readonly model: TF.LayersModel,
    readonly meta: ModelMeta,
    readonly dir: string,
    readonly backend: string,
    private readonly params: ScorerParams,
  ) {}

  get name(): string {
    return this.meta.name;
  }

  /** Whether the model ranks this query's candidates (else the hand-set scorer does). */
  appliesTo(query: SignatureView): boolean {
    return this.meta.scope === 'all' || query.kind === 'console';
  }

  get thresholds(): { duplicate: number; new: number } {
    return this.meta.thresholds;
  }

  /** P(same root cause) of a query with each candidate. */
  probabilities(query: SignatureView, candidates: SignatureView[], frames: FrameStats, scores?: Score[]): number[] {
    return this.predict(candidates.map((c, i) => pairFeatures(query, c, frames, this.params, scores?.[i])));
  }

  /** Probabilities of same root cause for feature rows (one row per pair). */
  predict(rows: number[][]): number[] {
    if (!rows.length) return [];
    return this.tf.tidy(() => {
      const n = rows[0]!.length;
      const flat = new Float32Array(rows.length * n);
      rows.forEach((r, i) => flat.set(r, i * n));
      const x = this.tf.tensor2d(flat, [rows.length, n]);
      const y = this.model.predict(x) as TF.Tensor;
      return Array.from(y.dataSync(), (p) => applyPlatt(p, this.meta.calibration));
    });
  }

  static async load(dir: string, params: ScorerParams, notice?: (line: string) => void): Promise<Ranker> {
    const file = path.join(dir, 'model.json');
    let json: { modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: TF.io.WeightsManifestEntry[] }>; vaat?: ModelMeta };
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ModelError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no model here' : `not a model (${(e as Error).message.split('\n')[0]})`}`);
    }
    const meta = json.vaat;
    if (!meta || meta.format !== 'vaat-ranker-1' || !json.modelTopology || !Array.isArray(json.weightsManifest)) throw new ModelError(`${file}: not a vaat ranker (no vaat-ranker-1 metadata)`);
    const th = meta.thresholds;
    if (!th || !(th.new >= 0 && th.new <= th.duplicate && th.duplicate <= 1)) throw new ModelError(`${file}: thresholds must satisfy 0 <= new <= duplicate <= 1 (${JSON.stringify(th)})`);
    if (meta.scope !== 'console' && meta.scope !== 'all') throw new ModelError(`${file}: scope must be console or all (${JSON.stringify(meta.scope)})`);
    if (meta.calibration && !(Number.isFinite(meta.calibration.a) && Number.isFinite(meta.calibration.b))) throw new ModelError(`${file}: calibration is not two numbers`);
    const layout = featureLayout(params);
    if (meta.featureLayout !== layout) throw new ModelError(`${file}: trained on feature layout ${meta.featureLayout}, this vaat computes ${layout} (the scorer changed): retrain it (vaat train)`);
    const specs = json.weightsManifest.flatMap((g) => g.weights);
    const want = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1) * 4, 0);
    let data: Buffer;
    try {
      data = fs.readFileSync(path.join(dir, json.weightsManifest[0]?.paths[0] ?? 'weights.bin'));
    } catch (e) {
      throw new ModelError(`${dir}: weights missing (${(e as Error).message.split('\n')[0]})`);
    }
    if (data.length !== want) throw new ModelError(`${dir}: weights.bin has ${data.length} bytes, the manifest needs ${want} (truncated or another model's)`);
    const { tf, backend } = await loadTf(notice);
    try {
      const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
      const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: ab }));
      const inputs = (model.inputs[0]?.shape ?? [])[1];
      if (inputs !== featureNames(params).length) throw new Error(`its input has ${inputs} features, the layout ${featureNames(params).length}`);
      return new Ranker(tf, model, meta, dir, backend, params);
    } catch (e) {
      throw new ModelError(`${dir}: the model does not load (${(e as Error).message.split('\n')[0]})`);
    }
  }
}

/** Write a trained model: model.json (+ vaat metadata) and weights.bin. */
export async function saveModel(tf: typeof TF, model: TF.LayersModel, dir: string, meta: ModelMeta): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (art) => {
    const weights = Buffer.from(art.weightData as ArrayBuffer);
    fs.writeFileSync(path.join(dir, 'weights.bin'), weights);
    const json = { format: 'layers-model', generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`, modelTopology: art.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }], vaat: meta };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json) + '\n');
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
  }));
}
