// A pool of worker threads for batch work over many inputs (reports,
// signature extraction): at most `jobs` at a time, a time limit per input
// after which its worker is stopped and replaced, results handed back in
// input order (so that what depends on order — issue numbers — does not
// depend on which worker finished first), and a failing input never stops
// the others.

import { Worker } from 'node:worker_threads';

export interface PoolOptions<R> {
  jobs: number;
  /** Seconds one input may take. */
  timeoutS: number;
  /** What an input that timed out or killed its worker becomes. */
  failure: (index: number, reason: string) => R;
  /** Called in input order as results become available. */
  onResult: (index: number, result: R) => Promise<void> | void;
  /**
   * A reason once no more inputs should be started (what their results would go to cannot take
   * them: a store whose disk is full); each input not started becomes `failure(index, reason)`.
   */
  stopped?: () => string | null;
}

interface Reply<R> {
  id: number;
  result: R;
}

export async function runPool<J, R>(workerUrl: URL, jobs: J[], opts: PoolOptions<R>): Promise<void> {
  const results = new Map<number, R>();
  let nextToEmit = 0;
  let emitting: Promise<void> = Promise.resolve();
  // The first error onResult threw: no input is started after it, and runPool throws it at the end
  // (a rejection left in the chain until then would end the process as unhandled).
  let thrown: { e: unknown } | null = null;
  const emit = () => {
    emitting = emitting.then(async () => {
      while (results.has(nextToEmit) && !thrown) {
        const r = results.get(nextToEmit)!;
        results.delete(nextToEmit);
        try {
          await opts.onResult(nextToEmit, r);
        } catch (e) {
          thrown = { e };
        }
        nextToEmit++;
      }
    });
  };
  let next = 0;
  const runOne = (w: Worker, idx: number): Promise<Worker> =>
    new Promise((resolve) => {
      let settled = false;
      const finish = (r: R, worker: Worker) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        w.off('message', onMsg);
        w.off('error', onErr);
        w.off('exit', onExit);
        results.set(idx, r);
        emit();
        resolve(worker);
      };
      const replace = (reason: string) => {
        void w.terminate();
        finish(opts.failure(idx, reason), new Worker(workerUrl));
      };
      const timer = setTimeout(() => replace(`timed out after ${opts.timeoutS} s`), opts.timeoutS * 1000);
      const onMsg = (m: Reply<R>) => {
        if (m.id === idx) finish(m.result, w);
      };
      const onErr = (e: Error) => replace(`worker failed: ${e.message}`);
      const onExit = (code: number) => replace(`worker exited (${code})`);
      w.on('message', onMsg);
      w.once('error', onErr);
      w.once('exit', onExit);
      w.postMessage({ id: idx, job: jobs[idx] });
    });
  const lanes = Array.from({ length: Math.max(1, Math.min(opts.jobs, jobs.length)) }, async () => {
    let w = new Worker(workerUrl);
    while (next < jobs.length && !thrown) {
      const idx = next++;
      const why = opts.stopped?.() ?? null;
      if (why !== null) {
        results.set(idx, opts.failure(idx, why));
        emit();
        continue;
      }
      w = await runOne(w, idx);
    }
    await w.terminate();
  });
  await Promise.all(lanes);
  await emitting;
  emit();
  await emitting;
  if (thrown) throw (thrown as { e: unknown }).e;
}
