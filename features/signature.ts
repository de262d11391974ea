// A crash signature: the six families extracted from a vmcore (or the panic
// family alone from a console log), with where it came from and what could
// not be read. Every signature is validated against
// features/schema/signature.schema.json before it is handed out, and is a
// pure function of its input: the same dump gives the same bytes.

import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { Program } from '../src/kernel/program.js';
import { Problems, type Problem } from '../src/kernel/problems.js';
import { readLog, formatTimestamp } from '../src/kernel/printk.js';
import { panicCpu } from '../src/helpers/panic.js';
import { packageRoot } from '../src/util/datafile.js';
import { panicFromText, panicFromStack, type PanicPart } from './panic.js';
import { extractLocks, type LocksPart } from './locks.js';
import { extractRunqueue, type RunqueuePart } from './runqueue.js';
import { extractCgroup, type CgroupPart } from './cgroup.js';
import { extractTaint, type TaintPart } from './taint.js';
import { extractCpu, type CpuPart } from './cpu.js';

export const SIGNATURE_VERSION = 2;

export interface SignatureSource {
  kind: 'vmcore' | 'console';
  /** File name (no directory: a signature does not change when its file moves). */
  name: string;
  bytes: number;
  /**
   * sha256 of a console log; for a vmcore, sha256 over its size, its first
   * and last MiB and its VMCOREINFO ("sha256-sampled"), so hashing stays
   * instant on multi-GB dumps.
   */
  hash: string;
  hashKind: 'sha256' | 'sha256-sampled';
  release: string | null;
}

export interface Signature {
  version: number;
  source: SignatureSource;
  panic: PanicPart | null;
  locks: LocksPart | null;
  runqueue: RunqueuePart | null;
  cgroup: CgroupPart | null;
  taint: TaintPart | null;
  cpu: CpuPart | null;
  problems: Problem[];
}

export class InvalidSignatureError extends Error {
  constructor(readonly errors: string[]) {
    super(`signature does not match its schema: ${errors.slice(0, 3).join('; ')}`);
    this.name = 'InvalidSignatureError';
  }
}

type Validator = ((d: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null };
let validator: Validator | null = null;

/**
 * ajv's validator for the signature schema: the code the build generated from it
 * (scripts/gen-validators.mjs) when it was made from the schema as it is now, else
 * compiled here (importing ajv and compiling cost ~200 ms a process).
 */
export function signatureValidator(opts: { precompiled?: boolean } = {}): { validate: Validator; precompiled: boolean } {
  const text = fs.readFileSync(path.join(packageRoot(), 'features', 'schema', 'signature.schema.json'), 'utf8');
  const require = createRequire(import.meta.url);
  if (opts.precompiled !== false) {
    try {
      const gen = require('./schema/signature.validate.cjs') as Validator & { schemaSha256?: string };
      if (gen.schemaSha256 === crypto.createHash('sha256').update(text).digest('hex')) return { validate: gen, precompiled: true };
    } catch {
      /* not built: compile below */
    }
  }
  const { Ajv } = require('ajv') as typeof import('ajv');
  return { validate: new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(text) as object) as Validator, precompiled: false };
}

/** Validate a signature against the JSON Schema; throws InvalidSignatureError with ajv's messages. */
export function validateSignature(sig: unknown): void {
  validator ??= signatureValidator().validate;
  if (!validator(sig)) throw new InvalidSignatureError((validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`));
}

/** The dump's printk log as console text ("[    5.688612] text"), the form the panic extractor reads. */
export function dumpLogText(prog: Program, problems: Problems): string {
  const log = readLog(prog);
  for (const p of log.problems) problems.add(p, undefined, 'printk log');
  const out: string[] = [];
  for (const r of log.records) {
    const ts = formatTimestamp(r.tsNsec);
    for (const line of r.text.split('\n')) out.push(`${ts} ${line}`);
  }
  return out.join('\n') + '\n';
}

function sampledHash(file: string, vmcoreinfo: string): { hash: string; bytes: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const h = crypto.createHash('sha256');
    h.update(`${size}\n`);
    const chunk = Math.min(size, 1 << 20);
    const buf = Buffer.alloc(chunk);
    fs.readSync(fd, buf, 0, chunk, 0);
    h.update(buf);
    if (size > chunk) {
      const tail = Math.min(chunk, size - chunk);
      fs.readSync(fd, buf, 0, tail, size - tail);
      h.update(buf.subarray(0, tail));
    }
    h.update(vmcoreinfo);
    return { hash: h.digest('hex'), bytes: size };
  } finally {
    fs.closeSync(fd);
  }
}

/** Run one family; a family that cannot be read at all is null, with the reason in problems. */
function family<T>(problems: Problems, name: string, f: () => T): T | null {
  try {
    return f();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    problems.add(`${name} family not extracted: ${msg}`, undefined, name);
    return null;
  }
}

/**
 * The signature of a vmcore. `file` is the dump as given (a .zst original is
 * hashed as stored); `prog` reads it.
 */
export function signatureFromDump(prog: Program, file: string): Signature {
  return signatureAndLogFromDump(prog, file).signature;
}

/**
 * The signature of a vmcore and the kernel log it read its panic part from
 * (console text): a store keeps the text so that new title and frame rules
 * can re-derive the panic part without the dump.
 */
export function signatureAndLogFromDump(prog: Program, file: string): { signature: Signature; logText: string | null } {
  const problems = new Problems();
  const text = family(problems, 'panic', () => dumpLogText(prog, problems));
  let panic = text === null ? null : family(problems, 'panic', () => panicFromText(text));
  // Cross-check the log's account with the dump's state.
  const pc = panicCpu(prog);
  if (panic && panic.cpu !== null && pc && pc.cpu !== panic.cpu) {
    problems.add(`the log says CPU ${panic.cpu} crashed, ${pc.source} says CPU ${pc.cpu}`, undefined, 'panic');
  }
  if (!panic?.title) {
    // No report in the log: what the registers say.
    problems.add('the kernel log holds no crash report (ring buffer overwritten or unreadable?): the panic part comes from the panic task\'s stack', undefined, 'panic');
    panic = family(problems, 'panic', () => panicFromStack(prog)) ?? panic;
  }
  const locksOut = family(problems, 'locks', () => extractLocks(prog, problems));
  const locks = locksOut?.part ?? null;
  const runqueue = family(problems, 'runqueue', () => extractRunqueue(prog, problems));
  const involved = new Set<number>(locksOut?.involved ?? []);
  if (panic?.pid != null) involved.add(panic.pid);
  const cgroup = family(problems, 'cgroup', () => extractCgroup(prog, problems, involved));
  const holderFrames = (locks?.locks ?? []).flatMap((l) => l.holder?.frames ?? []);
  const taint = family(problems, 'taint', () => extractTaint(prog, problems, panic?.modules ?? [], holderFrames));
  const cpu = family(problems, 'cpu', () => extractCpu(prog, problems));
  const vi = prog.vmcoreinfo.text ?? '';
  const { hash, bytes } = sampledHash(file, vi);
  const sig: Signature = {
    version: SIGNATURE_VERSION,
    source: { kind: 'vmcore', name: path.basename(file), bytes, hash, hashKind: 'sha256-sampled', release: prog.release || null },
    panic, locks, runqueue, cgroup, taint, cpu,
    // What reading the dump met outside the families (unreadable notes, a damaged release, a
    // nr_cpu_ids out of range) is part of what the signature says.
    problems: dedupeProblems([...prog.problems.map((reason) => ({ reason, context: 'dump' })), ...problems.list]),
  };
  validateSignature(sig);
  return { signature: sig, logText: text };
}

/** The signature of a console log (dmesg, serial console): the panic family only; the machine-state families are null. */
export function signatureFromConsole(text: string, name: string): Signature {
  const problems = new Problems();
  const panic = panicFromText(text);
  const sig: Signature = {
    version: SIGNATURE_VERSION,
    source: {
      kind: 'console', name, bytes: Buffer.byteLength(text, 'latin1'),
      hash: crypto.createHash('sha256').update(text, 'latin1').digest('hex'), hashKind: 'sha256', release: consoleRelease(text),
    },
    panic, locks: null, runqueue: null, cgroup: null, taint: null, cpu: null,
    problems: problems.list,
  };
  validateSignature(sig);
  return sig;
}

/** The kernel release a console log names: its "Linux version" banner, else the release in a "CPU: ... PID:" line. */
export function consoleRelease(text: string): string | null {
  const v = /Linux version (\S+)/.exec(text);
  if (v) return v[1]!;
  const c = /CPU: \d+ (?:UID: \d+ )?PID: \d+ Comm: .*?(?:Not tainted|Tainted: [A-Z ]+?)\s+(\d+\.\d+\S*)/.exec(text);
  return c ? c[1]! : null;
}

function dedupeProblems(list: Problem[]): Problem[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const k = JSON.stringify(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
