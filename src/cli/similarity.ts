// The similarity commands: ingest, match, issue, cluster, reindex, eval, and
// the syzbot labelled-set writer. All take --json; the store is --store DIR,
// else $VAAT_STORE, else ./vaat-store.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { Engine, IngestResult, MatchResult } from '../similarity/engine.js';
import type { ProgramOptions } from '../kernel/program.js';
import { storageFailure, type IssueStatus, type Store } from '../similarity/store.js';
import { writeFileAtomic } from '../util/atomicfile.js';
import { UsageError, wholeNumber, fraction } from './args.js';

interface Ctx {
  g: (cmd: Command) => Record<string, unknown>;
  fail: (what: string, e: unknown) => never;
  progress: (done: number, total: number, text: string) => void;
}

const STATUSES: IssueStatus[] = ['open', 'fixed', 'closed', 'invalid', 'merged'];

export function storeDir(o: Record<string, unknown>): string {
  return (o.store as string | undefined) ?? process.env.VAAT_STORE ?? './vaat-store';
}

/** `create`: the commands that store (ingest, a report of inputs, a calibration) make a missing store; the others refuse it. */
async function openEngine(o: Record<string, unknown>, create = false): Promise<Engine> {
  const { openAnyStore } = await import('../similarity/open.js');
  const { Engine } = await import('../similarity/engine.js');
  const notice = (l: string) => console.error(`vaat: ${l}`);
  const store = await openAnyStore(storeDir(o), { notice, mustExist: !create });
  try {
    return await Engine.open(store, { notice, reranker: await configuredModel(store, o, notice) });
  } catch (e) {
    await store.close();
    throw e;
  }
}

/**
 * The learned ranker the store is configured with. --model DIR configures it
 * (kept in the store's config), --model none removes it. A model that does
 * not load is one line, and the hand-set scorer ranks.
 */
async function configuredModel(store: Store, o: Record<string, unknown>, notice: (l: string) => void): Promise<import('../similarity/engine.js').Reranker | null> {
  if (typeof o.model === 'string') await store.setConfig('model', o.model === 'none' ? null : path.resolve(o.model));
  const dir = await store.config<string | null>('model');
  if (!dir) return null;
  const { Ranker } = await import('../models/ranker.js');
  const { defaultParams } = await import('../similarity/scorer.js');
  try {
    return await Ranker.load(dir, defaultParams(), notice);
  } catch (e) {
    notice(`model: ${(e as Error).message.split('\n')[0]}; ranking with the hand-set scorer`);
    return null;
  }
}

async function openStore(o: Record<string, unknown>, create = false): Promise<Store> {
  const { openAnyStore } = await import('../similarity/open.js');
  return openAnyStore(storeDir(o), { notice: (l) => console.error(`vaat: ${l}`), mustExist: !create });
}

/** Inputs of ingest: dumps found in directories (every file with --logs), files as given (a file that is not a dump is a console log). */
export async function ingestInputs(inputs: string[], logs: boolean): Promise<Array<{ path: string; name: string; as: 'dump' | 'log' }>> {
  const { findDumps, looksLikeDump } = await import('../report/batch.js');
  const out: Array<{ path: string; name: string; as: 'dump' | 'log' }> = [];
  for (const input of inputs) {
    const st = fs.statSync(input);
    if (st.isDirectory()) for (const f of findDumps([input], logs ? () => true : looksLikeDump)) out.push({ path: f.path, name: f.name, as: logs ? 'log' : 'dump' });
    else out.push({ path: input, name: input, as: logs || !looksLikeDump(input) ? 'log' : 'dump' });
  }
  return out;
}

type Extracted = { ok: true; signature: import('../../features/signature.js').Signature; logText: string | null } | { ok: false; error: string };

/**
 * Already-extracted signatures: the JSONL `vaat signature --batch` writes (a signature, with or
 * without its `vector`, or a failure line `{source, error}`), one input per line, read as they
 * come. A line that is not JSON, or not a valid signature, is that input's failure.
 */
async function* signatureLines(files: string[]): AsyncGenerator<{ name: string; r: Extracted }> {
  const readline = await import('node:readline');
  const { validateSignature } = await import('../../features/signature.js');
  for (const file of files) {
    const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let n = 0;
    for await (const line of rl) {
      n++;
      if (!line.trim()) continue;
      const at = `${file}:${n}`;
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(line) as Record<string, unknown>;
        if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
      } catch (e) {
        yield { name: at, r: { ok: false, error: `line ${n}: ${(e as Error).message}` } };
        continue;
      }
      const src = doc.source as { name?: unknown } | undefined;
      // The line identifies the input (dumps of one capture path share a file name).
      const name = typeof src?.name === 'string' && src.name ? `${at} ${src.name}` : at;
      if (typeof doc.error === 'string') {
        yield { name, r: { ok: false, error: `extraction failed: ${doc.error}` } };
        continue;
      }
      // The vector is this vaat's to compute (its layout may differ from the writer's).
      const { vector: _v, ...sig } = doc;
      try {
        validateSignature(sig);
      } catch (e) {
        yield { name, r: { ok: false, error: `line ${n}: ${(e as Error).message}` } };
        continue;
      }
      yield { name, r: { ok: true, signature: sig as unknown as import('../../features/signature.js').Signature, logText: null } };
    }
  }
}

/** How many already-extracted signatures one store transaction takes (their decisions print after it commits). */
const SIGNATURE_BATCH = 500;

/**
 * Extract every input (worker threads when jobs > 1) and hand each result to `emit` in input order;
 * once `stopped` gives a reason, inputs not yet started are not extracted but failed with it.
 */
async function extractAll(list: Array<{ path: string; as: 'dump' | 'log' }>, program: ProgramOptions, jobs: number, timeoutS: number, emit: (i: number, r: Extracted) => Promise<void>, stopped: () => string | null = () => null): Promise<void> {
  const { extract } = await import('../report/extract.js');
  const { runPool } = await import('../report/pool.js');
  const job = (i: number) => ({ path: list[i]!.path, as: list[i]!.as, program });
  const failure = (reason: string) => ({ ok: false as const, error: reason, seconds: 0 });
  if (jobs <= 1 || list.length <= 1) {
    for (let i = 0; i < list.length; i++) {
      const why = stopped();
      await emit(i, why === null ? await extract(job(i)) : failure(why));
    }
  } else {
    await runPool(new URL('../report/extract-worker.js', import.meta.url), list.map((_, i) => job(i)), {
      jobs, timeoutS,
      failure: (_, reason) => failure(reason),
      onResult: (i, r) => emit(i, r),
      stopped,
    });
  }
}

/**
 * What an ingest does when its store stops taking writes (a full disk): the input at hand and every
 * later one is failed with the reason, nothing more is extracted or stored, and the engine keeps its
 * index file as last saved (`Engine.abandonIndex`). Returns the reason for a storage failure, else null.
 */
function haltOnStorage(engine: Engine, e: unknown): string | null {
  const why = storageFailure(e);
  if (why === null) return null;
  const reason = `the store cannot take writes: ${why}`;
  engine.abandonIndex(reason);
  return reason;
}

/** What an ingest stopped by its store says last. */
const KEPT = 'The decisions printed before are stored; the index file stays as last saved and the next open brings it up to date from the database.';

function haltedNotice(halted: string, notStored: number): string {
  return `vaat: ingest: ${halted}; ${notStored} input${notStored === 1 ? '' : 's'} not ingested. ${KEPT}\n`;
}

/** The last line of an ingest: what was decided, and what the store holds now. */
async function ingestSummary(engine: Engine, counts: Record<string, number>, what: string, where: string): Promise<string> {
  const n = await engine.store.count();
  const issues = (await engine.store.issues()).filter((x) => x.status !== 'merged').length;
  return `\n${what}: ${counts.duplicate} duplicate, ${counts.new} new, ${counts.uncertain} uncertain, ${counts['same-dump']} same-dump, ${counts.failed} failed; store ${where}: ${n} signatures, ${issues} known issues\n`;
}

const pad = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));

function ingestLine(r: IngestResult, width: number): string {
  const issue = r.issue === null ? '-' : `#${r.issue}`;
  const sc = r.score === null ? '-' : r.score.toFixed(3);
  const extra = r.decision === 'uncertain' ? ' (pending: waits in the closest issue for a person)' : '';
  const near = r.decision === 'new' && r.closest ? `  (closest #${r.closest.issue} at ${r.closest.score.toFixed(3)})` : '';
  const what = r.error ? `ERROR: ${r.error}` : `${r.title ?? ''}${extra}${near}`;
  return `${pad(r.input, width)}  ${r.decision.padEnd(10)} ${issue.padStart(6)}  ${sc.padStart(5)}  ${what}`;
}

export function renderMatch(m: MatchResult): string {
  const out = [`QUERY     ${m.query.name}  (${m.query.kind}${m.query.title ? `, ${m.query.title}` : ''})`];
  if (!m.matches.length) out.push('MATCHES   none: the store holds no known issue near it');
  const d = m.decision;
  const verdict = d.verdict === 'duplicate' ? `duplicate of #${d.issue}` : d.verdict === 'uncertain' ? `uncertain (closest #${d.issue})` : 'new';
  const scale = d.scale === 'model' ? `model ${d.model}, probabilities` : `${d.scale} scale`;
  out.push(`DECISION  ${verdict}  (${scale}: τ_dup ${d.duplicate}, τ_new ${d.new}; ${m.candidates} candidates re-ranked)`);
  if (d.held) out.push(`          ${d.held}`);
  for (const x of m.matches) {
    const fam = Object.entries(x.families).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${v!.toFixed(2)}`).join('  ');
    const by = d.scale === 'model' ? ` (scorer ${x.scorer.toFixed(3)})` : '';
    out.push(`#${String(x.issue).padEnd(5)} ${x.score.toFixed(3)}${by}  ${x.title}${x.status !== 'open' ? `  [${x.status}]` : ''}`);
    out.push(`        ${fam}   via signature ${x.signature.id} (${x.signature.name}${x.signature.release ? `, ${x.signature.release}` : ''})`);
    for (const r of x.reasons.slice(0, 4)) out.push(`        - ${r}`);
  }
  return out.join('\n') + '\n';
}

export function addSimilarityCommands(program: Command, ctx: Ctx): void {
  const { g } = ctx;
  // A declared never-returning function, so that the compiler follows control flow past it.
  function fail(what: string, e: unknown): never {
    return ctx.fail(what, e);
  }
  const storeOpt = (c: Command) => c.option('--store <dir|url>', 'the store: a directory (SQLite) or a postgres:// URL (default $VAAT_STORE, else ./vaat-store)');

  storeOpt(
    program
      .command('ingest')
      .description('extract, store and decide: each input is a duplicate of a known issue, new (opens an issue), uncertain (kept for a person), same-dump (already stored) or failed')
      .argument('<inputs...>', 'dumps, directories of dumps, console logs (JSONL files with --signatures)')
      .option('--logs', 'every file (and every file under a directory) is a console log')
      .option('--signatures', 'the inputs are JSONL files of signatures already extracted (vaat signature --batch -o FILE): stored and decided, a batch per transaction')
      .option('-j, --jobs <n>', 'extraction worker threads (default: number of cores)', wholeNumber(1, 256))
      .option('--timeout <s>', 'per-input extraction time limit in seconds', wholeNumber(1, 86_400), 600)
      .option('--model <dir>', 'configure the store to re-rank with this learned model (models/<name>), or none for the hand-set scorer')
      .option('--json', 'one JSON object per input: {input, signature, decision, issue, closest, score, families, reasons, error}'),
  ).action(async (inputs: string[], _o, cmd: Command) => {
    const o = g(cmd);
    let engine: Engine;
    let list: Array<{ path: string; name: string; as: 'dump' | 'log' }>;
    try {
      if (o.signatures) for (const f of inputs) if (!fs.statSync(f).isFile()) throw new UsageError(`${f}: not a file (--signatures reads JSONL files)`);
      list = o.signatures ? [] : await ingestInputs(inputs, !!o.logs);
      engine = await openEngine(o, true);
    } catch (e) {
      fail('ingest', e);
    }
    if (o.signatures) {
      await ingestSignatures(engine, inputs, !!o.json, storeDir(o));
      return;
    }
    const program_: ProgramOptions = { systemMap: o.systemMap as string | undefined, btf: o.btf as string | undefined, zeroExcluded: !!o.zeroExcluded };
    const jobs = Math.max(1, Math.min(o.jobs ? Number(o.jobs) : os.availableParallelism(), list.length));
    const counts: Record<string, number> = { duplicate: 0, new: 0, uncertain: 0, 'same-dump': 0, failed: 0 };
    const width = Math.min(48, Math.max(5, ...list.map((x) => x.name.length)));
    const t0 = Date.now();
    if (!o.json) process.stdout.write(`${pad('INPUT', width)}  DECISION    ISSUE  SCORE  TITLE\n`);
    let done = 0;
    let halted: string | null = null;
    let notStored = 0;
    const emit = async (i: number, r: Extracted) => {
      const input = list[i]!.path;
      let res: IngestResult;
      const shown = (x: IngestResult) => ({ ...x, input: o.json ? x.input : list[i]!.name });
      const notIngested = () => engine.unrecorded(input, `not ingested: ${halted}`);
      if (halted !== null) res = notIngested();
      else {
        try {
          res = r.ok ? await engine.ingest(r.signature, { path: input, logText: r.logText }) : await engine.failed(input, r.error);
        } catch (e) {
          const err = e as Error;
          if ((halted = haltOnStorage(engine, e)) !== null) res = notIngested();
          else if (err.name === 'StoreError') fail('ingest', e);
          else {
            // Recording the input's own failure is a write too: the store may refuse it.
            try {
              res = await engine.failed(input, (err.message ?? String(e)).split('\n')[0]!);
            } catch (e2) {
              if ((halted = haltOnStorage(engine, e2)) === null) fail('ingest', e2);
              res = notIngested();
            }
          }
        }
      }
      if (halted !== null && res.decision === 'failed') notStored++;
      counts[res.decision] = (counts[res.decision] ?? 0) + 1;
      done++;
      if (process.stderr.isTTY && list.length > 1) ctx.progress(done, list.length, `${path.basename(input)} ${res.decision}`);
      process.stdout.write(o.json ? JSON.stringify(res) + '\n' : ingestLine(shown(res), width) + '\n');
    };
    try {
      await extractAll(list, program_, jobs, Number(o.timeout), emit, () => (halted === null ? null : `not ingested: ${halted}`));
      const line = await ingestSummary(engine, counts, `${list.length} inputs in ${((Date.now() - t0) / 1000).toFixed(1)} s`, storeDir(o));
      await closeAfterIngest(engine);
      if (!o.json) process.stdout.write(line);
    } catch (e) {
      fail('ingest', e);
    }
    if (halted !== null) process.stderr.write(haltedNotice(halted, notStored));
    if (counts.failed) process.exitCode = 2;
  });

  /** Close the engine (saving its index); an index that cannot be saved for want of space is said, not fatal: the database holds every decision. */
  async function closeAfterIngest(engine: Engine): Promise<void> {
    try {
      await engine.close();
    } catch (e) {
      const why = storageFailure(e);
      if (why === null) throw e;
      process.stderr.write(`vaat: ingest: the index file was not saved (${why}); every decision is in the database, and the next open brings the index up to date from it.\n`);
      process.exitCode = 2;
      await engine.store.close().catch(() => undefined);
    }
  }

  /** ingest --signatures: batches of already-extracted signatures, one transaction each; a decision prints once committed. */
  async function ingestSignatures(engine: Engine, files: string[], json: boolean, where: string): Promise<void> {
    const counts: Record<string, number> = { duplicate: 0, new: 0, uncertain: 0, 'same-dump': 0, failed: 0 };
    const t0 = Date.now();
    const width = 40;
    if (!json) process.stdout.write(`${pad('INPUT', width)}  DECISION    ISSUE  SCORE  TITLE\n`);
    let batch: Array<{ name: string; r: Extracted }> = [];
    let total = 0;
    let halted: string | null = null;
    const flush = async () => {
      let out: IngestResult[];
      try {
        out = await engine.store.exclusive(async () => {
          const res: IngestResult[] = [];
          for (const { name, r } of batch) res.push(r.ok ? await engine.ingest(r.signature, { path: null, logText: null }) : await engine.failed(name, r.error));
          return res;
        });
      } catch (e) {
        // The batch's transaction rolled back: none of it is stored, and nothing more is read.
        if ((halted = haltOnStorage(engine, e)) === null) throw e;
        out = batch.map(({ name }) => engine.unrecorded(name, `not ingested: ${halted}`));
      }
      for (const [i, res] of out.entries()) {
        counts[res.decision] = (counts[res.decision] ?? 0) + 1;
        const shown = { ...res, input: batch[i]!.name };
        process.stdout.write(json ? JSON.stringify(shown) + '\n' : ingestLine(shown, width) + '\n');
      }
      total += batch.length;
      // The files' line count is not known ahead (they are read as they come): a count, not a bar.
      if (process.stderr.isTTY) process.stderr.write(`\r${total} signatures decided`);
      batch = [];
    };
    try {
      for await (const x of signatureLines(files)) {
        batch.push(x);
        if (batch.length >= SIGNATURE_BATCH) await flush();
        if (halted !== null) break;
      }
      if (batch.length && halted === null) await flush();
      if (process.stderr.isTTY && total) process.stderr.write('\n');
      const secs = (Date.now() - t0) / 1000;
      const line = await ingestSummary(engine, counts, `${total} signatures in ${secs.toFixed(1)} s (${(total / Math.max(secs, 1e-3)).toFixed(0)}/s)`, where);
      await closeAfterIngest(engine);
      if (!json) process.stdout.write(line);
    } catch (e) {
      fail('ingest', e);
    }
    if (halted !== null) process.stderr.write(`vaat: ingest: ${halted}; the last batch of ${SIGNATURE_BATCH} or fewer was rolled back and the rest of the input not read. ${KEPT}\n`);
    if (counts.failed) process.exitCode = 2;
  }

  storeOpt(
    program
      .command('match')
      .description('the known issues closest to a dump or console log, with the score\'s per-family breakdown and reasons; stores nothing')
      .argument('[dump]', 'a vmcore')
      .option('--log <file>', 'a console log (dmesg, serial console, a pasted report) instead of a dump')
      .option('-k <n>', 'how many issues', wholeNumber(1, 50), 5)
      .option('--model <dir>', 'configure the store to re-rank with this learned model, or none')
      .option('--json', 'print {query, matches: [{issue, title, score, families, reasons, signature}]}'),
  ).action(async (dump: string | undefined, _o, cmd: Command) => {
    const o = g(cmd);
    const file = (o.log as string | undefined) ?? dump;
    if (!file) fail('match', new UsageError('give a dump or --log <file>'));
    const { extract } = await import('../report/extract.js');
    const r = await extract({ path: file, as: o.log ? 'log' : 'dump', program: { systemMap: o.systemMap as string | undefined, btf: o.btf as string | undefined, zeroExcluded: !!o.zeroExcluded } });
    // Said as ingest says a failed input: the input's trouble, in its one line (extract keeps no error class).
    if (!r.ok) fail(file, new UsageError(r.error));
    let engine: Engine;
    try {
      engine = await openEngine(o);
    } catch (e) {
      fail('match', e);
    }
    const m = await engine.match(r.signature, { k: Number(o.k) });
    await engine.store.close();
    process.stdout.write(o.json ? JSON.stringify(m, null, 2) + '\n' : renderMatch(m));
  });

  const issue = program.command('issue').description('known issues: list, show, and the corrections a person makes (label, confirm, merge, split, note, link, status, title)');
  const withStore = (c: Command) => storeOpt(c).option('--json', 'print the data as JSON');
  const num = (s: string, what: string) => {
    if (!/^\d+$/.test(s)) fail('issue', new UsageError(`${what} must be a number: ${s}`));
    return Number(s);
  };
  const run = (f: (store: Store, o: Record<string, unknown>) => Promise<unknown>) => async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const o = g(cmd);
    let store: Store;
    try {
      store = await openStore(o);
    } catch (e) {
      fail('issue', e);
    }
    try {
      const out = await f(store, o);
      if (typeof out === 'string') process.stdout.write(out);
      else if (out !== undefined) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } catch (e) {
      fail('issue', e);
    } finally {
      await store.close();
    }
  };
  const ops = () => import('../similarity/issues.js');

  withStore(issue.command('list').description('every known issue: size, status, first/last seen, kernels, title').option('--status <s>', `only these statuses (${STATUSES.join(',')})`).option('--uncertain', 'the uncertain decisions still waiting for a person'))
    .action(run(async (store, o) => (await ops()).listIssues(store, { status: o.status as string | undefined, uncertain: !!o.uncertain, json: !!o.json })));
  withStore(issue.command('show').argument('<id>').description('an issue: its notes, links and every member with who decided and the score'))
    .action((id: string, ...rest: unknown[]) => run(async (store, o) => (await ops()).showIssue(store, num(id, 'issue'), !!o.json))(...rest));
  withStore(issue.command('label').argument('<signature>', 'signature id or hash prefix').argument('<issue>').description('put a signature in an issue (a person\'s decision: kept across reindexing)'))
    .action((sig: string, id: string, ...rest: unknown[]) => run(async (store) => (await ops()).labelSignature(store, sig, num(id, 'issue')))(...rest));
  withStore(issue.command('confirm').argument('<issue>').description('confirm every pending (uncertain) member of an issue'))
    .action((id: string, ...rest: unknown[]) => run(async (store) => (await ops()).confirmIssue(store, num(id, 'issue')))(...rest));
  withStore(issue.command('merge').argument('<into>').argument('<from>').description('move every member of <from> into <into>; <from> is marked merged'))
    .action((a: string, b: string, ...rest: unknown[]) => run(async (store) => (await ops()).mergeIssues(store, num(a, 'issue'), num(b, 'issue')))(...rest));
  withStore(issue.command('split').argument('<issue>').argument('<signatures...>').description('move these signatures out of an issue into a new one'))
    .action((id: string, sigs: string[], ...rest: unknown[]) => run(async (store) => (await ops()).splitIssue(store, num(id, 'issue'), sigs))(...rest));
  withStore(issue.command('note').argument('<id>').argument('<text...>').description('append a note (a line of free text) to an issue'))
    .action((id: string, text: string[], ...rest: unknown[]) => run(async (store) => (await ops()).noteIssue(store, num(id, 'issue'), text.join(' ')))(...rest));
  withStore(issue.command('link').argument('<id>').argument('<url>').option('--kind <kind>', 'bug, fix, report, …', 'bug').description('attach a link (bug URL, fix commit) to an issue'))
    .action((id: string, url: string, ...rest: unknown[]) => run(async (store, o) => (await ops()).linkIssue(store, num(id, 'issue'), String(o.kind), url))(...rest));
  withStore(issue.command('status').argument('<id>').argument('<status>', STATUSES.filter((s) => s !== 'merged').join('|')).description('set an issue\'s status'))
    .action((id: string, st: string, ...rest: unknown[]) => run(async (store) => (await ops()).setStatus(store, num(id, 'issue'), st))(...rest));
  withStore(issue.command('title').argument('<id>').argument('<title...>').description('rename an issue'))
    .action((id: string, t: string[], ...rest: unknown[]) => run(async (store) => (await ops()).retitle(store, num(id, 'issue'), t.join(' ')))(...rest));

  storeOpt(
    program
      .command('similarity-report')
      .description('the similarity report of a store (or of inputs, ingested into a temporary store): overview, cluster map, clusters, per-cluster detail, pair diffs, baselines — text, JSON, or one self-contained HTML file')
      .argument('[inputs...]', 'dumps, directories, console logs: ingested first (into --store when given, else a temporary store)')
      .option('--logs', 'every input file is a console log')
      .option('-o, --out <file>', 'write the HTML page here')
      .option('--json', 'print the report as JSON (the document the page is made from)')
      .option('--threshold <t>', 'clustering cut (default: the store\'s calibrated value, else 0.6)', fraction)
      .option('-k <n>', 'neighbours per signature in the graph', wholeNumber(1, 200), 10)
      .option('-j, --jobs <n>', 'extraction worker threads', wholeNumber(1, 256)),
  ).action(async (inputs: string[], _o, cmd: Command) => {
    const o = g(cmd);
    let tmp: string | null = null;
    if (inputs.length && !o.store) {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vaat-simreport-'));
      o.store = tmp;
    }
    let engine: Engine;
    try {
      engine = await openEngine(o, inputs.length > 0);
      if (inputs.length) {
        const list = await ingestInputs(inputs, !!o.logs);
        const program_: ProgramOptions = { systemMap: o.systemMap as string | undefined, btf: o.btf as string | undefined, zeroExcluded: !!o.zeroExcluded };
        let done = 0;
        await extractAll(list, program_, Math.max(1, Math.min(o.jobs ? Number(o.jobs) : os.availableParallelism(), list.length)), 600, async (i, r) => {
          const res = r.ok ? await engine.ingest(r.signature, { path: list[i]!.path, logText: r.logText }) : await engine.failed(list[i]!.path, r.error);
          if (res.error) console.error(`vaat: similarity-report: ${list[i]!.name}: ${res.error}`);
          done++;
          if (process.stderr.isTTY && list.length > 1) ctx.progress(done, list.length, path.basename(list[i]!.path));
        });
      }
      const { buildSimilarityReport, renderSimilarityText } = await import('../report/similarity.js');
      const threshold = o.threshold !== undefined ? Number(o.threshold) : ((await engine.store.config<number>('clusterThreshold')) ?? 0.6);
      const t0 = Date.now();
      const r = await buildSimilarityReport(engine, {
        source: inputs.length ? inputs.join(' ') : `store ${storeDir(o)}`, threshold, k: Number(o.k),
        progress: process.stderr.isTTY ? (l) => process.stderr.write(`\r${l.padEnd(40)}`) : undefined,
      });
      if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(42) + '\r');
      await engine.close();
      if (o.out) {
        const { htmlPage } = await import('../report/html/page.js');
        const html = htmlPage('similarity', `vaat similarity report: ${r.overview.signatures} signatures`, r);
        writeFileAtomic(String(o.out), html);
        if (!o.json) process.stdout.write(`${o.out}: ${r.overview.signatures} signatures, ${r.overview.clusters} clusters, ${r.overview.issues} known issues; ${(html.length / 1048576).toFixed(1)} MB, built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      }
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else if (!o.out) process.stdout.write(renderSimilarityText(r));
    } catch (e) {
      // fail() ends the process: the finally below would not run.
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
      fail('similarity-report', e);
    } finally {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  storeOpt(
    program
      .command('cluster')
      .description('root-cause clusters over every stored signature: average linkage over the HNSW k-nearest-neighbour graph, exact scores')
      .option('--threshold <t>', 'cut (0..1; default: the store\'s calibrated value, else 0.6)', fraction)
      .option('-k <n>', 'neighbours per signature', wholeNumber(1, 200), 10)
      .option('--json', 'print the clusters as JSON'),
  ).action(async (_o, cmd: Command) => {
    const o = g(cmd);
    let engine: Engine;
    try {
      engine = await openEngine(o);
    } catch (e) {
      fail('cluster', e);
    }
    const { clusterStore } = await import('../similarity/cluster.js');
    const { renderClusters } = await import('../similarity/issues.js');
    const threshold = o.threshold !== undefined ? Number(o.threshold) : ((await engine.store.config<number>('clusterThreshold')) ?? 0.6);
    const r = await clusterStore(engine, { threshold, k: Number(o.k) });
    await engine.store.close();
    const { graph: _graph, ...shown } = r;
    process.stdout.write(o.json ? JSON.stringify(shown, null, 2) + '\n' : renderClusters(r));
  });

  storeOpt(
    program
      .command('reindex')
      .description('re-derive panic parts (current rules), vectors and the index from the stored documents and console text; report automatic memberships the new scores would move')
      .option('--json', 'print the report as JSON'),
  ).action(async (_o, cmd: Command) => {
    const o = g(cmd);
    let store: Store;
    try {
      store = await openStore(o);
    } catch (e) {
      fail('reindex', e);
    }
    const { reindex } = await import('../similarity/reindex.js');
    try {
      const r = await reindex(store, { notice: (l) => console.error(`vaat: ${l}`) });
      await store.close();
      if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else {
        process.stdout.write(`${r.signatures} signatures: ${r.rederived} panic parts re-derived (${r.panicChanged} changed), ${r.revectorized} vectors recomputed, index rebuilt; ${r.humanKept} memberships set by a person kept\n`);
        for (const w of r.wouldMove) process.stdout.write(`would move: signature ${w.signature} (${w.name}) from #${w.from} to ${w.to === null ? 'a new issue' : `#${w.to}`}${w.score !== null ? ` (score ${w.score})` : ''} — not applied; vaat issue label/split to apply\n`);
      }
    } catch (e) {
      fail('reindex', e);
    }
  });

  program
    .command('eval')
    .description('every matcher (engine, its panic family alone, title equality, SysOM key, ABRT/FAF, FaST-style) on a labelled set: ranking, duplicate-vs-new, clustering; fitted on the tuning half, reported on the test half')
    .requiredOption('--set <manifest>', 'a labelled set: manifest.json (or its directory), or a tree of scenario dirs with meta.json')
    .option('--protocol <list>', 'loo,leave-label-out,by-group,time (default: all the set supports)')
    .option('--rankings <file>', 'write one JSON line per query of the engine, both halves: {query, split (tune or test), candidates: [{id, score}], decision}')
    .option('--rounds <n>', 'bootstrap rounds', wholeNumber(1, 1_000_000), 1000)
    .option('-j, --jobs <n>', 'extraction worker threads for dumps', wholeNumber(1, 256))
    .option('--no-cache', 'extract every signature again (default: cached in $TMPDIR/vaat-eval-cache by content, rules version and extractor code)')
    .option('--no-clustering', 'leave clustering out')
    .option('--ablate-names', 'replace every chosen name (locks, tasks, cgroups, module functions) by a placeholder first: what the mechanism alone tells apart')
    .option('--model <dir>', 'also evaluate the engine re-ranked by this learned model (listed first)')
    .option('--calibrate', 'write the engine\'s fitted thresholds into --store\'s config')
    .option('--store <dir>', 'with --calibrate: the store to configure')
    .option('--json', 'print the report as JSON')
    .action(async (_o, cmd: Command) => {
      const o = g(cmd);
      const { loadEvalSet, allMatchers } = await import('./eval.js');
      const { evaluate, PROTOCOLS } = await import('../similarity/eval/run.js');
      const { renderEval } = await import('../similarity/eval/render.js');
      let set;
      try {
        set = await loadEvalSet(String(o.set), {
          jobs: o.jobs ? Number(o.jobs) : os.availableParallelism(), cache: o.cache === false ? null : undefined, ablateNames: !!o.ablateNames,
          progress: process.stderr.isTTY ? (d, t, n) => ctx.progress(d, t, n) : undefined,
        });
      } catch (e) {
        fail('eval', e);
      }
      for (const f of set.failed) console.error(`vaat: eval: ${f.id}: ${f.error}`);
      const protocols = o.protocol ? String(o.protocol).split(',') : PROTOCOLS;
      for (const p of protocols) if (!PROTOCOLS.includes(p as never)) fail('eval', new UsageError(`--protocol ${p}: one of ${PROTOCOLS.join(', ')}`));
      const rankings = o.rankings ? fs.openSync(String(o.rankings), 'w') : null;
      const matchers = allMatchers(set.items);
      if (o.model && o.model !== 'none') {
        const { Ranker } = await import('../models/ranker.js');
        const { defaultParams } = await import('../similarity/scorer.js');
        const { modelMatcher } = await import('../similarity/eval/matchers/model.js');
        const { setFrameStats } = await import('./eval.js');
        try {
          const rk = await Ranker.load(String(o.model), defaultParams(), (l) => console.error(`vaat: ${l}`));
          matchers.unshift(modelMatcher(set.items, setFrameStats(set.items), rk, { name: `engine + model ${rk.name}`, about: 'HNSW top-50 candidates re-ranked by the learned model' }));
        } catch (e) {
          console.error(`vaat: eval: model: ${(e as Error).message.split('\n')[0]}; evaluating without it`);
        }
      }
      const report = evaluate(set.items, matchers, {
        protocols: protocols as never, rounds: Number(o.rounds), clustering: o.clustering !== false,
        rankings: rankings === null ? undefined : (line) => fs.writeSync(rankings, line + '\n'),
        progress: process.stderr.isTTY ? (t) => process.stderr.write(`\r${t.padEnd(60)}`) : undefined,
      });
      if (rankings !== null) fs.closeSync(rankings);
      if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(62) + '\r');
      if (o.calibrate) {
        const eng = report.matchers.find((m) => m.matcher === 'engine (full signature)')!;
        const store = await openStore(o, true);
        // The set's inputs say which scale it calibrates: console logs, or vmcores.
        const scale = set.items.some((it) => it.kind === 'vmcore') ? 'vmcore' : 'console';
        const cur = (await store.config<Record<string, unknown>>('thresholds')) ?? {};
        // Stamped with the scorer's version: a later scorer scores on another scale (Engine.open says so).
        const { defaultParams } = await import('../similarity/scorer.js');
        await store.setConfig('thresholds', { ...cur, [scale]: { duplicate: eng.thresholds.duplicate ?? 1, new: eng.thresholds.new ?? 0, scorer: defaultParams().version } });
        if (eng.thresholds.cluster !== null) await store.setConfig('clusterThreshold', eng.thresholds.cluster);
        await store.setConfig('calibration', { set: path.resolve(String(o.set)), at: new Date().toISOString(), thresholds: eng.thresholds });
        await store.close();
      }
      process.stdout.write(o.json ? JSON.stringify({ set: String(o.set), splitBy: set.splitBy, ablateNames: !!o.ablateNames, failed: set.failed, ...report }, null, 2) + '\n' : renderEval(report, `${o.set} (halves by ${set.splitBy === 'manifest' ? 'the manifest\'s split' : 'root-cause hash'}${o.ablateNames ? '; names ablated' : ''})`));
    });

  const dataset = program.command('dataset').description('labelled sets in the manifest format vaat eval reads');
  dataset
    .command('syzbot')
    .description('write the syzbot root-cause corpus (reports.jsonl) as a labelled set: DIR/reports/<id>.txt and DIR/manifest.json (label = cluster, time = date, group = report|repro, split = tune|test by cluster)')
    .argument('<reports.jsonl>')
    .requiredOption('-o, --out <dir>', 'where to write')
    .action(async (file: string, _o, cmd: Command) => {
      const o = g(cmd);
      const { writeSyzbotSet } = await import('../../datasets/syzbot.js');
      try {
        const r = writeSyzbotSet(file, String(o.out));
        process.stdout.write(`${r.entries} reports in ${r.clusters} root-cause clusters written to ${o.out}/manifest.json\n`);
      } catch (e) {
        fail('dataset syzbot', e);
      }
    });
}
