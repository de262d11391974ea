// The `vaat` command line: `vaat <command> <dump> [args…] [options]`.
// Every command prints crash-like text, or its data with --json. Exit 0 when
// a result was printed (problems met on the way go to stderr and into the
// JSON); non-zero with a one-line message when nothing useful could be read.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import type { Program, ProgramOptions } from '../kernel/program.js';
import { toJson } from '../util/json.js';
import { materialize } from '../util/zst.js';
import type { LockKind } from '../helpers/locks.js';
import { addSimilarityCommands } from './similarity.js';
import { addTrainCommand } from './train.js';
import { addFleetCommands } from './fleet.js';
import { storageFailure } from '../similarity/store.js';
import { UsageError, wholeNumber } from './args.js';

interface GlobalOpts {
  systemMap?: string;
  btf?: string;
  zeroExcluded?: boolean;
  cachePages?: string;
  json?: boolean;
}

export async function openProgram(dump: string, g: GlobalOpts): Promise<Program> {
  const { Program } = await import('../kernel/program.js');
  const opts: ProgramOptions = {
    systemMap: g.systemMap,
    btf: g.btf,
    zeroExcluded: g.zeroExcluded,
    cachePages: g.cachePages ? Number(g.cachePages) : undefined,
    displayPath: dump,
  };
  return Program.open(materialize(dump), opts);
}

/** One line saying what went wrong, no stack trace (VAAT_DEBUG=1 shows it). */
export function fail(what: string, e: unknown, prog?: Program): never {
  const err = e as Error;
  // An error about VMCOREINFO's content says where that text is in the dump.
  if (prog && err?.message && /VMCOREINFO (lacks|printk|SYMBOL|has no)/.test(err.message) && !/file offset|found in memory/.test(err.message)) err.message += ` (${prog.vmcoreinfoWhere})`;
  if (process.env.VAAT_DEBUG) console.error(err.stack);
  const known = ['FormatError', 'ProgramError', 'DumpReadError', 'ExcludedPageError', 'NotInDumpError', 'TruncatedDumpError', 'CorruptPageError', 'PageNotMappedError', 'ReadFault', 'BtfError', 'StoreError', 'LabError', 'NotAConsoleLogError', 'InvalidSignatureError', 'TypeNameError', 'ModelError', 'LocalServiceError', 'UsageError', 'LabelledSetError'];
  // The system's answers about files, and about a port asked for (`vaat serve --port` taken): the user's to fix, not vaat's.
  const fsCodes = ['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'ENXIO', 'EMFILE', 'ENFILE', 'EIO', 'EFBIG', 'ENOSPC', 'EROFS', 'EADDRINUSE', 'EADDRNOTAVAIL'];
  const msg = (err?.message ?? String(e)).split('\n')[0];
  const code = (err as NodeJS.ErrnoException)?.code;
  // A store whose disk is full (or read-only, or failing) is the operator's to fix, not vaat's.
  const full = storageFailure(e);
  if (full !== null && !(code && fsCodes.includes(code))) console.error(`vaat: ${what}: the store cannot take writes: ${full}`);
  else if (known.includes(err?.name) || (code && fsCodes.includes(code))) console.error(`vaat: ${what}: ${msg}`);
  else console.error(`vaat: ${what}: internal error: ${msg}`);
  process.exit(1);
}

function reportProblems(problems: Array<{ reason: string; address?: string; context?: string } | string>): void {
  for (const p of problems.slice(0, 20)) {
    if (typeof p === 'string') console.error(`vaat: warning: ${p}`);
    else console.error(`vaat: warning: ${p.context ? p.context + ': ' : ''}${p.reason}`);
  }
  if (problems.length > 20) console.error(`vaat: warning: … and ${problems.length - 20} more (see --json)`);
}

/** Run a dump command: open, collect, print; map every failure to a one-line message. */
export async function runDumpCommand<T extends { problems?: unknown[] }>(
  dump: string,
  g: GlobalOpts,
  collect: (prog: Program) => T,
  render: (data: T) => string,
): Promise<void> {
  let prog: Program;
  try {
    prog = await openProgram(dump, g);
  } catch (e) {
    fail(dump, e);
  }
  let data: T;
  try {
    data = collect(prog);
  } catch (e) {
    fail(dump, e, prog);
  }
  const openProblems = prog.problems;
  if (g.json) {
    process.stdout.write(toJson({ ...data, dumpProblems: openProblems }) + '\n');
  } else {
    process.stdout.write(render(data));
  }
  reportProblems([...openProblems, ...((data.problems as Array<{ reason: string }>) ?? [])]);
  prog.close();
}

/** A progress bar on stderr: redrawn in place on a terminal, one line per step otherwise. */
function progressLine(done: number, total: number, text: string): void {
  const width = 30;
  const bar = '#'.repeat(Math.round((done / total) * width)).padEnd(width, '.');
  const line = `[${bar}] ${done}/${total}  ${text}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(100)}${done === total ? '\n' : ''}`);
  else process.stderr.write(line + '\n');
}

export function buildCli(): Command {
  const program = new Command();
  program
    .name('vaat')
    .description('vmcore automatic analysis tools: read Linux kernel crash dumps with no debuginfo')
    .option('--system-map <file>', 'System.map, for kernels whose VMCOREINFO has no kallsyms (before 6.0)')
    .option('--btf <file>', 'raw BTF file (e.g. a copy of /sys/kernel/btf/vmlinux) instead of the dump\'s own')
    .option('--zero-excluded', 'read pages excluded from the dump as zeros')
    .option('--cache-pages <n>', 'page cache size in pages (default 4096)', wholeNumber(1, 1 << 24))
    .showHelpAfterError();

  const g = (cmd: Command) => cmd.optsWithGlobals() as GlobalOpts & Record<string, unknown>;

  program
    .command('sys')
    .description('system summary: kernel, dump, CPUs, crash time, uptime, load, tasks, memory, panic (crash: sys)')
    .argument('<dump>', 'vmcore (ELF, kdump-compressed or flattened; .zst is decompressed first)')
    .option('-t, --taint', 'decode tainted_mask: letters and meaning of every set bit')
    .option('--json', 'print the data as JSON')
    .action(async (dump: string, _o, cmd: Command) => {
      const { collectSys, renderSys } = await import('../commands/sys.js');
      const o = g(cmd);
      await runDumpCommand(dump, o, (p) => collectSys(p, { taint: !!o.taint }), (d) => renderSys(d, { taint: !!o.taint }));
    });

  program
    .command('log')
    .description('kernel log (crash: log)')
    .argument('<dump>')
    .option('-t, --no-time', 'omit timestamps')
    .option('-m, --level', 'show each record\'s log level')
    .option('--tail <n>', 'only the last n records', wholeNumber(0, Number.MAX_SAFE_INTEGER))
    .option('--json', 'print the records as JSON')
    .action(async (dump: string, _o, cmd: Command) => {
      const { collectLog, renderLog } = await import('../commands/log.js');
      const o = g(cmd);
      const lo = { noTime: o.time === false, level: !!o.level, levels: !!o.level || !!o.json, tail: o.tail !== undefined ? Number(o.tail) : undefined };
      await runDumpCommand(dump, o, (p) => collectLog(p, lo), (d) => renderLog(d, lo));
    });

  program
    .command('bt')
    .description('backtraces: the panic task, -a every CPU\'s task, -A every task, or given pids/task addresses (crash: bt)')
    .argument('<dump>')
    .argument('[tasks...]', 'pids or task_struct addresses')
    .option('-a, --all', 'the task on every CPU')
    .option('-A, --every', 'every task')
    .option('--json', 'print the backtraces as JSON')
    .action(async (dump: string, tasks: string[], _o, cmd: Command) => {
      const { collectBt, renderBt } = await import('../commands/bt.js');
      const o = g(cmd);
      await runDumpCommand(dump, o, (p) => collectBt(p, { all: !!o.all, every: !!o.every, tasks }), renderBt);
    });

  program
    .command('ps')
    .description('process table: PID, PPID, CPU, TASK, ST, %MEM, VSZ, RSS, COMM; > marks running tasks (crash: ps)')
    .argument('<dump>')
    .option('--json', 'print the rows as JSON')
    .action(async (dump: string, _o, cmd: Command) => {
      const { collectPs, renderPs } = await import('../commands/ps.js');
      await runDumpCommand(dump, g(cmd), collectPs, renderPs);
    });

  program
    .command('runq')
    .description('runqueues: current and queued tasks per CPU (crash: runq); -t timestamps; -c fair-class table and imbalance')
    .argument('<dump>')
    .option('-t, --timestamps', 'rq->clock and the current task\'s last arrival, as crash runq -t')
    .option('-c, --cfs', 'per-CPU cfs_rq table (nr_running, load/runnable/util, vruntimes, throttling) and imbalance summary')
    .option('-g, --groups', 'show task groups as nested trees')
    .option('--json', 'print the runqueues as JSON')
    .action(async (dump: string, _o, cmd: Command) => {
      const { collectRunq, renderRunq } = await import('../commands/runq.js');
      const o = g(cmd);
      await runDumpCommand(dump, o, collectRunq, (d) => renderRunq(d, { timestamps: !!o.timestamps, cfsTable: !!o.cfs, groups: !!o.groups }));
    });

  program
    .command('lockinfo')
    .description('a lock\'s type, holder and waiters (lockinfo <dump> cgroup_mutex); --blocked: what every D-state task waits on, chains and deadlocks')
    .argument('<dump>')
    .argument('[lock]', 'symbol (vmlinux or module) or address of the lock')
    .option('--type <kind>', 'mutex, rwsem, semaphore or spinlock (when the lock is not a known global)')
    .option('--blocked', 'every task in D state: its lock, the holder, holder chains and cycles')
    .option('--json', 'print the data as JSON')
    .action(async (dump: string, lock: string | undefined, _o, cmd: Command) => {
      const { collectLockinfo, renderLockinfo } = await import('../commands/lockinfo.js');
      const o = g(cmd);
      await runDumpCommand(dump, o, (p) => collectLockinfo(p, { lock, type: o.type as LockKind | undefined, blocked: !!o.blocked || !lock }), renderLockinfo);
    });

  program
    .command('mod')
    .description('loaded modules: crash\'s columns plus each module\'s taint letters and state (crash: mod)')
    .argument('<dump>')
    .option('--json', 'print the modules as JSON')
    .action(async (dump: string, _o, cmd: Command) => {
      const { collectMod, renderMod } = await import('../commands/mod.js');
      await runDumpCommand(dump, g(cmd), collectMod, renderMod);
    });

  program
    .command('cpuinfo')
    .description('CPUs: -i topology, panic/idle CPUs and CPUs without saved registers; -t TLB state per CPU (both by default)')
    .argument('<dump>')
    .option('-i, --topology', 'online/possible/present masks, package/core/thread ids, what each CPU was doing')
    .option('-t, --tlb', 'cpu_tlbstate: loaded mm and its owner, ASID, tlb_gen against the mm\'s, lazy mode')
    .option('--json', 'print the data as JSON')
    .action(async (dump: string, _o, cmd: Command) => {
      const { collectCpuinfo, renderCpuinfo } = await import('../commands/cpuinfo.js');
      const o = g(cmd);
      await runDumpCommand(dump, o, (p) => collectCpuinfo(p, { topology: !!o.topology, tlb: !!o.tlb }), renderCpuinfo);
    });

  program
    .command('cgroupinfo')
    .description('cgroup hierarchies as trees: tasks (D/R), cpuset cpus/mems, cpu weight and quota, throttling, memory')
    .argument('<dump>')
    .option('--path <path>', 'only the subtree at this cgroup path')
    .option('--json', 'print the data as JSON')
    .action(async (dump: string, _o, cmd: Command) => {
      const { collectCgroupinfo, renderCgroupinfo } = await import('../commands/cgroupinfo.js');
      const o = g(cmd);
      await runDumpCommand(dump, o, (p) => collectCgroupinfo(p, { path: o.path as string | undefined }), renderCgroupinfo);
    });

  program
    .command('tasktable')
    .description('all tasks with scheduling columns (state, cpu, prio/policy, on_rq, times, switches, last run, D time, cgroup), outliers flagged')
    .argument('<dump>')
    .option('--sort <column>', 'sort by a column (prefix - for descending), e.g. -LASTRUN')
    .option('--filter <expr...>', 'keep rows matching COLUMN=VALUE, COLUMN>N, COLUMN~TEXT (repeatable)')
    .option('--outliers', 'only the flagged rows')
    .option('--limit <n>', 'at most n rows', wholeNumber(0, Number.MAX_SAFE_INTEGER))
    .option('--json', 'print the rows as JSON')
    .action(async (dump: string, _o, cmd: Command) => {
      const { collectTasktable, renderTasktable } = await import('../commands/tasktable.js');
      const o = g(cmd);
      await runDumpCommand(dump, o, (p) => collectTasktable(p, {
        sort: o.sort as string | undefined, filter: o.filter as string[] | undefined, outliersOnly: !!o.outliers, limit: o.limit ? Number(o.limit) : undefined,
      }), renderTasktable);
    });

  program
    .command('report')
    .description('run sys, log, bt -a, runq, lockinfo --blocked, tasktable, mod, cpuinfo, cgroupinfo over dumps or directories of dumps, in parallel')
    .argument('<inputs...>', 'dump files and/or directories (searched recursively)')
    .option('-o, --out <dir>', 'where to write <dump>.txt/.json and the summary', 'vaat-report')
    .option('-j, --jobs <n>', 'parallel workers (default: number of cores)', wholeNumber(1, 256))
    .option('--html', 'also write HTML pages and index.html')
    .option('--timeout <s>', 'per-dump time limit in seconds', wholeNumber(1, 86_400), 900)
    .option('--json', 'print the summary as JSON')
    .action(async (inputs: string[], _o, cmd: Command) => {
      const o = g(cmd);
      const t0 = Date.now();
      const { runBatch } = await import('../report/batch.js');
      const { summaryTable } = await import('../report/output.js');
      let rows;
      try {
        rows = await runBatch(inputs, {
          out: o.out as string,
          jobs: o.jobs ? Number(o.jobs) : undefined,
          html: !!o.html,
          timeout: Number(o.timeout),
          program: { systemMap: o.systemMap, btf: o.btf, zeroExcluded: o.zeroExcluded },
          progress: (done, total, last) => progressLine(done, total, `${last.dump} ${last.error ? 'UNREADABLE' : 'ok'} ${last.seconds.toFixed(1)}s`),
        });
      } catch (e) {
        fail('report', e);
      }
      if (o.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      else process.stdout.write(summaryTable(rows) + `\n${rows.length} dumps in ${((Date.now() - t0) / 1000).toFixed(1)} s; reports in ${o.out}\n`);
      if (rows.length === 0) {
        console.error('vaat: report: no dumps found');
        process.exit(1);
      }
    });

  program
    .command('signature')
    .description('crash signature: panic title/stack, locks, runqueues, cgroups, taint, CPU/TLB — from a dump, or the panic part from a console log')
    .argument('[dump]', 'vmcore (or, with --log, a console/dmesg text file)')
    .option('--log <file>', 'read a console log (dmesg, serial console) instead of a dump: the panic family only')
    .option('--batch <dir...>', 'signatures of every dump under these directories, one JSON per line into --out')
    .option('--logs', 'with --batch: every file is a console log')
    .option('-o, --out <file.jsonl>', 'with --batch: where to write', 'signatures.jsonl')
    .option('--vector', 'with --json or --batch: add the vector (features/data/vector.json layout)')
    .option('--json', 'print the signature document (validated against features/schema/signature.schema.json)')
    .action(async (dump: string | undefined, _o, cmd: Command) => {
      const o = g(cmd);
      const { renderSignature, signatureJson, batchSignatures } = await import('./signature.js');
      if (o.batch) {
        const t0 = Date.now();
        let r;
        try {
          r = await batchSignatures(o.batch as string[], o.out as string, {
            logs: !!o.logs,
            vector: !!o.vector,
            program: { systemMap: o.systemMap, btf: o.btf, zeroExcluded: o.zeroExcluded },
            progress: (done, total, name, ok) => progressLine(done, total, `${name} ${ok ? 'ok' : 'FAILED'}`),
          });
        } catch (e) {
          fail('signature', e);
        }
        for (const f of r.failed) console.error(`vaat: signature: ${f.file}: ${f.error}`);
        process.stdout.write(`${r.written} of ${r.total} signatures written to ${o.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        if (r.written === 0) process.exit(1);
        return;
      }
      const fs = await import('node:fs');
      const path = await import('node:path');
      const { signatureFromDump, signatureFromConsole } = await import('../../features/signature.js');
      const { vectorize } = await import('../../features/vector.js');
      const file = (o.log as string | undefined) ?? dump;
      if (!file) fail('signature', new UsageError('give a dump, --log <file> or --batch <dir>'));
      let sig;
      let prog: Program | null = null;
      try {
        if (o.log) sig = signatureFromConsole(fs.readFileSync(file, 'latin1'), path.basename(file));
        else {
          prog = await openProgram(file, o);
          sig = signatureFromDump(prog, file);
        }
      } catch (e) {
        const err = e as Error;
        if (err?.name === 'NotAConsoleLogError' || err?.name === 'InvalidSignatureError') {
          console.error(`vaat: ${file}: ${err.message}`);
          process.exit(1);
        }
        fail(file, e);
      }
      if (o.json) {
        process.stdout.write(o.vector ? toJson({ ...sig, vector: Array.from(vectorize(sig), (x) => Math.round(x * 1e6) / 1e6) }) + '\n' : signatureJson(sig));
      } else process.stdout.write(renderSignature(sig));
      prog?.close();
    });

  addSimilarityCommands(program, { g, fail, progress: progressLine });
  addTrainCommand(program, { g, fail, progress: progressLine });
  addFleetCommands(program, { g, fail });

  const lab = program.command('lab').description('the lab: labelled real vmcores from real Debian kernels under QEMU');
  lab
    .command('build')
    .description('boot each scenario under QEMU, crash it, collect dump + console + manifest entry (cached by content)')
    .requiredOption('-o, --out <dir>', 'where the dumps and manifest.json go')
    .option('--kernels <list>', 'kernels by short name (datasets/lab/kernels.json)', '6.1')
    .option('--scenarios <list|all>', 'scenario names (datasets/lab/scenarios.json) or all', 'all')
    .option('--runs <n>', 'variations per scenario', wholeNumber(1, 1000), 1)
    .option('--capture <path>', 'kdump, qmp or both (alternating)', 'both')
    .option('--seed <n>', 'seed for the variations', wholeNumber(0, 2 ** 31 - 1), 1)
    .option('--cache <dir>', 'downloads and builds (default <out>/.lab)')
    .option('--mem <MiB>', 'guest memory for every run instead of the drawn size (kdump needs ≥ 384)', wholeNumber(128, 65536))
    .option('--jobs <n>', 'guests at once (each one QEMU; under TCG a guest keeps about one core busy)', wholeNumber(1, 64), 1)
    .option('--json', 'print the result as JSON')
    .action(async (_o, cmd: Command) => {
      const o = g(cmd);
      const { buildLab } = await import('../../datasets/lab/lab.js');
      const mem = o.mem === undefined ? undefined : Number(o.mem);
      const jobs = Number(o.jobs);
      const capture = String(o.capture);
      if (!['kdump', 'qmp', 'both'].includes(capture)) fail('lab build', new UsageError(`--capture ${capture}: kdump, qmp or both`));
      const t0 = Date.now();
      let r;
      try {
        r = await buildLab({
          out: o.out as string,
          kernels: String(o.kernels).split(',').filter(Boolean),
          scenarios: o.scenarios === 'all' ? 'all' : String(o.scenarios).split(',').filter(Boolean),
          runs: Number(o.runs),
          capture: capture as 'kdump' | 'qmp' | 'both',
          seed: Number(o.seed),
          cache: o.cache as string | undefined,
          memMiB: mem,
          jobs,
          log: (s) => process.stderr.write(`lab: ${s}\n`),
          progress: (done, total, text) => progressLine(done, total, text),
        });
      } catch (e) {
        const err = e as Error;
        if (err?.name === 'LabError') {
          console.error(`vaat: lab build: ${err.message}`);
          process.exit(1);
        }
        fail('lab build', e);
      }
      const secs = (Date.now() - t0) / 1000;
      if (o.json) process.stdout.write(JSON.stringify({ built: r.built, cached: r.cached, failed: r.failed, entries: r.manifest.entries.length, seconds: secs }, null, 2) + '\n');
      else {
        process.stdout.write(`${r.built} built, ${r.cached} cached, ${r.failed.length} failed in ${secs.toFixed(0)} s; ${r.manifest.entries.length} entries in ${o.out}/manifest.json\n`);
        for (const f of r.failed) process.stdout.write(`FAILED ${f.id}: ${f.reason}\n`);
      }
      if (r.failed.length) process.exit(2);
    });
  lab
    .command('stats')
    .description("what a lab set holds: dumps per kernel, capture path, format and compression, with wall time and size per dump")
    .argument('<dir>', 'a lab output directory (with manifest.json)')
    .option('--json', 'print the figures as JSON')
    .action(async (dir: string, _o, cmd: Command) => {
      const o = g(cmd);
      const { labStats, renderLabStats, validateManifest } = await import('../../datasets/lab/lab.js');
      let m;
      try {
        m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Parameters<typeof labStats>[0];
        validateManifest(m);
      } catch (e) {
        fail('lab stats', e);
      }
      const s = labStats(m);
      process.stdout.write(o.json ? JSON.stringify(s, null, 2) + '\n' : renderLabStats(s));
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that goes away (vaat … | head) ends the output, not the process with a stack trace;
  // what was committed stays committed.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  await buildCli().parseAsync(argv);
}

main(process.argv).catch((e) => fail('vaat', e));
