// The fleet commands: `vaat worker` (BullMQ ingest workers), `vaat serve`
// (the HTTP service) and `vaat fleet up` (Redis, PostgreSQL, one service and
// N workers on loopback in a temporary directory, for trying it).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Command } from 'commander';
import { UsageError, wholeNumber } from './args.js';

interface Ctx {
  g: (cmd: Command) => Record<string, unknown>;
  fail: (what: string, e: unknown) => never;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function readToken(o: Record<string, unknown>): string {
  if (o.tokenFile) return fs.readFileSync(String(o.tokenFile), 'utf8').trim();
  if (process.env.VAAT_TOKEN) return process.env.VAAT_TOKEN;
  throw new UsageError('give --token-file FILE (or VAAT_TOKEN): writes need a bearer token');
}

export function addFleetCommands(program: Command, ctx: Ctx): void {
  program
    .command('worker')
    .description('BullMQ ingest workers: take jobs from Redis, extract, store and decide in PostgreSQL; SIGTERM finishes the current jobs')
    .requiredOption('--redis <url>', 'redis://host:port')
    .requiredOption('--pg <url>', 'postgres://user@host:port/db')
    .option('--root <dir>', 'dump paths must resolve inside this directory (repeatable)', collect, [])
    .option('--concurrency <n>', 'jobs at once', wholeNumber(1, 256), 2)
    .option('--lock-ms <ms>', 'job lock: a dead worker\'s job is retried after it', wholeNumber(100, 86_400_000), 30000)
    .option('--candidates <url>', "the service's URL: its index answers this worker's searches, and the worker keeps none (needs the token)")
    .option('--token-file <file>', 'the service\'s bearer token, for --candidates (else $VAAT_TOKEN)')
    .action(async (_o, cmd: Command) => {
      const o = ctx.g(cmd);
      const { startWorker } = await import('../fleet/worker.js');
      try {
        const candidates = o.candidates ? String(o.candidates) : undefined;
        const w = await startWorker({
          redis: String(o.redis), pg: String(o.pg), roots: o.root as string[], concurrency: Number(o.concurrency), lockMs: Number(o.lockMs),
          candidates, token: candidates ? readToken(o) : undefined, notice: (l) => console.error(`vaat worker: ${l}`),
        });
        console.error(`vaat worker: ${process.pid} taking jobs (concurrency ${o.concurrency})`);
        let stopping = false;
        const stop = async () => {
          if (stopping) return;
          stopping = true;
          console.error('vaat worker: finishing the current jobs');
          await w.close();
          process.exit(0);
        };
        process.on('SIGTERM', () => void stop());
        process.on('SIGINT', () => void stop());
      } catch (e) {
        ctx.fail('worker', e);
      }
    });

  program
    .command('serve')
    .description('the dedupe service over HTTP: /v1/ingest, /v1/jobs/:id, /v1/match, /v1/issues, /v1/report, /metrics, /healthz')
    .requiredOption('--redis <url>', 'redis://host:port')
    .requiredOption('--pg <url>', 'postgres://user@host:port/db')
    .option('--port <n>', 'port', wholeNumber(0, 65535), 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--token-file <file>', 'the bearer token writes need (else $VAAT_TOKEN)')
    .option('--protect-reads', 'reads need the token too')
    .option('--root <dir>', 'dump paths must resolve inside this directory (repeatable)', collect, [])
    .option('--parallel-scavenge', "keep V8's parallel young-generation collection (for a machine with cores to spare)")
    .action(async (_o, cmd: Command) => {
      const o = ctx.g(cmd);
      // The service's latency tail: a parallel scavenge stops the event loop until its helper
      // threads finish, and on a machine whose cores PostgreSQL and the workers share those threads
      // wait for a core. Scavenging on the main thread alone does not wait. Measured on 2 cores
      // (bench/fleet.mjs --match-only, 100 k store, five runs each, back to back:
      // bench/results/fleet-100000-scavenge-tenth-session.json): paced p99 median 27.6 ms against
      // 33.5 (the runs' spreads overlap: 22.6–49.9 and 23.8–53.5), saturated 315/s against 291.
      // Those runs still carried the bench's client start-up and the pool's 10 s stall (found in the
      // eleventh session, README), which the comparison did not separate: weak evidence, a sound
      // mechanism, nothing lost: the default here. V8 reads the flag at each scavenge.
      if (!o.parallelScavenge) (await import('node:v8')).setFlagsFromString('--no-parallel-scavenge');
      const { startService } = await import('../fleet/service.js');
      try {
        const s = await startService({ pg: String(o.pg), redis: String(o.redis), port: Number(o.port), host: String(o.host), token: readToken(o), protectReads: !!o.protectReads, roots: o.root as string[], notice: (l) => console.error(`vaat serve: ${l}`) });
        console.error(`vaat serve: listening on ${s.url}`);
        const stop = async () => {
          await s.close();
          process.exit(0);
        };
        process.on('SIGTERM', () => void stop());
        process.on('SIGINT', () => void stop());
      } catch (e) {
        ctx.fail('serve', e);
      }
    });

  const fleet = program.command('fleet').description('a local fleet for trying the service');
  fleet
    .command('up')
    .description('start Redis and PostgreSQL (Debian\'s redis-server and postgresql-15, installed when missing) on loopback in a temporary directory, one service and N workers; Ctrl-C stops everything')
    .option('--dir <dir>', 'where the databases live (default: a new temporary directory)')
    .option('--workers <n>', 'workers', wholeNumber(1, 64), 2)
    .option('--port <n>', 'service port', wholeNumber(0, 65535), 8080)
    .option('--root <dir>', 'dump paths must resolve inside this directory (repeatable; default: the current directory)', collect, [])
    .action(async (_o, cmd: Command) => {
      const o = ctx.g(cmd);
      const { ensurePackages, startRedis, startPostgres, LocalServiceError } = await import('../fleet/local.js');
      const dir = o.dir ? String(o.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'vaat-fleet-'));
      const children: ChildProcess[] = [];
      let redis: Awaited<ReturnType<typeof startRedis>> | null = null;
      let pgs: Awaited<ReturnType<typeof startPostgres>> | null = null;
      try {
        ensurePackages();
        redis = await startRedis(path.join(dir, 'redis'));
        pgs = await startPostgres(path.join(dir, 'postgres'));
        const tokenFile = path.join(dir, 'token');
        if (!fs.existsSync(tokenFile)) fs.writeFileSync(tokenFile, crypto.randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
        const roots = (o.root as string[]).length ? (o.root as string[]) : [process.cwd()];
        const rootArgs = roots.flatMap((r) => ['--root', path.resolve(r)]);
        const vaat = process.argv[1]!;
        // The service's index cache (keyed by the database's URL, whose port is new each time) lives
        // beside the databases, not in the system's temp directory where every fleet left one.
        const env = { ...process.env, VAAT_INDEX_DIR: process.env.VAAT_INDEX_DIR || dir };
        const run = (args: string[]) => {
          const c = spawn(process.execPath, [vaat, ...args], { stdio: ['ignore', 'inherit', 'inherit'], env });
          children.push(c);
          return c;
        };
        // The banner's curl must work as soon as it shows: wait for the service to say it listens
        // (its stderr passed on). A port already taken ends here, with the service's own error,
        // rather than in a fleet without a service; a probe of the port would have found the other
        // program listening there.
        const serve = spawn(process.execPath, [vaat, 'serve', '--pg', pgs.url, '--redis', redis.url, '--port', String(o.port), '--token-file', tokenFile, ...rootArgs], { stdio: ['ignore', 'inherit', 'pipe'], env });
        children.push(serve);
        await new Promise<void>((resolve, reject) => {
          let said = '';
          let up = false;
          serve.stderr!.on('data', (d: Buffer) => {
            process.stderr.write(d);
            if (up) return;
            said += d.toString('utf8');
            if (said.includes('vaat serve: listening on ')) {
              up = true;
              said = '';
              resolve();
            }
          });
          serve.once('exit', (c) => reject(new LocalServiceError(`vaat serve exited (${c}) before it listened`)));
        });
        // The workers ask the service for candidates rather than keep an index each (candidates.ts).
        for (let i = 0; i < Number(o.workers); i++) run(['worker', '--pg', pgs.url, '--redis', redis.url, '--candidates', `http://127.0.0.1:${o.port}`, '--token-file', tokenFile, ...rootArgs]);
        process.stdout.write([
          `fleet in ${dir}`,
          `  redis      ${redis.url} (append-only file in ${redis.dir})`,
          `  postgres   ${pgs.url}`,
          `  service    http://127.0.0.1:${o.port} (token in ${tokenFile})`,
          `  workers    ${o.workers}; dump roots ${roots.join(', ')}`,
          `try: curl -s -H "Authorization: Bearer $(cat ${tokenFile})" -H 'content-type: application/json' -d '{"path":"${path.resolve(roots[0]!)}/…/vmcore"}' http://127.0.0.1:${o.port}/v1/ingest`,
          'Ctrl-C stops everything.',
          '',
        ].join('\n'));
        const stop = async () => {
          for (const c of children) c.kill('SIGTERM');
          await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
          await redis?.stop();
          await pgs?.stop();
          process.exit(0);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
      } catch (e) {
        // Nothing half-started stays behind: the children, then the databases.
        for (const c of children) c.kill('SIGTERM');
        await redis?.stop().catch(() => {});
        await pgs?.stop().catch(() => {});
        ctx.fail('fleet up', e);
      }
    });
}
