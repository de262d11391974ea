// `vaat worker`: BullMQ workers that take ingest jobs from Redis — a dump
// path on storage the workers share, or console text — extract the
// signature, and store and decide through the engine over the shared
// PostgreSQL store. A job that fails is retried with exponential backoff;
// after its last attempt it is copied, with its error, to the dead-letter
// queue. A worker killed in the middle of a job leaves no half-stored
// decision (the store commits a decision in one transaction) and BullMQ
// hands the job to another worker when its lock expires; the dump hash is
// unique in the database, so a job run twice stores once. SIGTERM finishes
// the current jobs and exits.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, Queue, DelayedError, type Job } from 'bullmq';
import { PgStore, isUnavailable } from '../similarity/postgres.js';
import { storageFailure } from '../similarity/store.js';
import { Engine, type IngestResult } from '../similarity/engine.js';
import { extract } from '../report/extract.js';
import { signatureFromConsole } from '../../features/signature.js';
import { insideRoots } from './paths.js';
import { httpCandidates, CandidatesRefused } from './candidates.js';
import { CandidatesUnavailable, otherStore } from '../similarity/remote-index.js';

export const INGEST_QUEUE = 'vaat-ingest';
export const DEAD_QUEUE = 'vaat-dead';

export type IngestJob = { kind: 'dump'; path: string } | { kind: 'log'; name: string; text: string };

/** Attempts and backoff every ingest job is queued with. */
export const JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 7 * 86400, count: 100_000 }, removeOnFail: { age: 30 * 86400 } } as const;

export const redisConnection = (url: string) => ({ url, maxRetriesPerRequest: null as null, enableOfflineQueue: true, retryStrategy: (n: number) => Math.min(2000, 100 * n) });

/** Why a job should wait rather than fail an attempt (what it needs is away for now), or null. */
function waitFor(e: unknown): string | null {
  if (e instanceof CandidatesUnavailable) return e.message.split('\n')[0]!;
  const first = String((e as Error | null)?.message ?? e).split('\n')[0]!;
  if (isUnavailable(e)) return `PostgreSQL is unavailable: ${first}`;
  const full = storageFailure(e);
  return full === null ? null : `PostgreSQL cannot take writes: ${full}`;
}

export interface WorkerOptions {
  redis: string;
  pg: string;
  concurrency?: number;
  /** Dump paths must resolve inside one of these (the shared storage). */
  roots: string[];
  /** How long a job's lock lasts without renewal: a killed worker's job is retried after it. */
  lockMs?: number;
  /**
   * The service's URL: its index answers this worker's searches (POST /v1/candidates), and the
   * worker keeps no index of its own. Absent: the worker builds and keeps its own, as a query node does.
   */
  candidates?: string;
  /** The bearer token the service was started with (needed with `candidates`). */
  token?: string;
  /** How long a job waits before trying again while the candidate service cannot answer (ms). */
  candidatesRetryMs?: number;
  notice?: (line: string) => void;
}

export interface RunningWorker {
  worker: Worker;
  engine: Engine;
  close(): Promise<void>;
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const notice = o.notice ?? (() => {});
  const store = await PgStore.open(o.pg, { notice });
  const remote = o.candidates ? httpCandidates(o.candidates, o.token ?? null) : undefined;
  const engine = await Engine.open(store, { notice, remote }).catch(async (e) => {
    await store.close();
    throw e;
  });
  if (remote) {
    // A wrong token, a service of another vector layout or of another store is the operator's to
    // fix: refuse to start. A service not up yet is not: jobs wait for it. (Later, the remote index
    // itself makes jobs wait on an answer for another store.)
    try {
      const other = otherStore(await remote.search(new Float32Array(engine.dimension), 1), (await store.meta()).createdAt, remote.name);
      if (other) throw new CandidatesRefused(`${other} (${o.pg.replace(/:[^:@/]*@/, '@')})`);
    } catch (e) {
      if (!(e instanceof CandidatesUnavailable)) {
        await engine.close().catch(() => store.close());
        throw e instanceof CandidatesRefused ? new Error(`${e.message} (check --candidates, --pg and the token)`) : e;
      }
      notice(`${(e as Error).message}: jobs wait until it answers`);
    }
  }
  const retryMs = o.candidatesRetryMs ?? 2000;
  let lastWaitNotice = 0;
  // What other workers store reaches this one's index as they commit (their notices), not inside
  // this worker's next ingest; and an ingest with nothing announced since skips a round trip.
  const unlisten = await store.listen((id) => engine.syncSoon(id));
  const dead = new Queue(DEAD_QUEUE, { connection: redisConnection(o.redis) });
  const roots = o.roots.map((r) => fs.realpathSync(r));
  // One decision at a time per process (the store serializes writers anyway);
  // extraction is what runs concurrently.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = chain.then(f, f);
    chain = p.catch(() => {});
    return p;
  };
  const process_ = async (job: Job<IngestJob>, token?: string): Promise<IngestResult> => {
    const d = job.data;
    let sig;
    let logText: string | null;
    let input: string;
    if (d.kind === 'dump') {
      const real = insideRoots(roots, d.path);
      if (!real.ok) throw new Error(`refused: ${real.reason}`);
      input = d.path;
      const r = await extract({ path: real.path, as: 'dump', program: {} });
      if (!r.ok) throw new Error(r.error);
      sig = r.signature;
      logText = r.logText;
    } else if (d.kind === 'log' && typeof d.text === 'string') {
      input = d.name || `job-${job.id}`;
      sig = signatureFromConsole(d.text, path.basename(input));
      logText = d.text;
    } else throw new Error('not an ingest job (kind dump with a path, or log with text)');
    // Progress: 0 while extracting, 60 once extracted and deciding; a completed job reads 100
    // (GET /v1/jobs/:id). One Redis round trip per job for it, not three.
    await job.updateProgress(60);
    try {
      const res = await serial(() => engine.ingest(sig, { path: d.kind === 'dump' ? d.path : null, logText }));
      return { ...res, input };
    } catch (e) {
      // The service that answers this worker's searches, or the database, is down or behind (or the
      // database's disk is full): the job waits and comes back without spending one of its attempts.
      // A restart of either must not dead-letter jobs: with three attempts 1 s and 2 s apart, every
      // job taken during a database restart of a few seconds did.
      const why = waitFor(e);
      if (why === null || !token) throw e;
      if (Date.now() - lastWaitNotice > 10_000) {
        lastWaitNotice = Date.now();
        notice(`${why}: jobs wait ${retryMs} ms and try again`);
      }
      await job.moveToDelayed(Date.now() + retryMs, token);
      throw new DelayedError();
    }
  };
  const worker = new Worker<IngestJob, IngestResult>(INGEST_QUEUE, process_, {
    connection: redisConnection(o.redis),
    concurrency: o.concurrency ?? 2,
    lockDuration: o.lockMs ?? 30_000,
    stalledInterval: Math.max(1000, Math.floor((o.lockMs ?? 30_000) / 2)),
    maxStalledCount: 3,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const last = job.attemptsMade >= (job.opts.attempts ?? 1);
    notice(`job ${job.id} failed (attempt ${job.attemptsMade}/${job.opts.attempts ?? 1}): ${err.message.split('\n')[0]}`);
    if (last) {
      void dead.add('dead', { job: job.id, data: job.data, error: err.message.split('\n')[0], attempts: job.attemptsMade, at: new Date().toISOString() }, { jobId: `dead-${job.id}` }).catch(() => {});
      void engine.failed(job.data.kind === 'dump' ? job.data.path : job.data.name, err.message.split('\n')[0]!).catch(() => {});
    }
  });
  worker.on('error', (e) => notice(`worker: ${e.message.split('\n')[0]}`));
  return {
    worker, engine,
    async close() {
      await worker.close();
      await unlisten();
      await dead.close();
      await engine.close().catch(() => store.close());
    },
  };
}
