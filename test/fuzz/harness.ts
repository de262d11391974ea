// The fuzz harness: deterministic mutations of the seven shared dumps (every
// container format) and of real console reports, each run through the CLI
// as a user would run it, with a time and memory bound, and each run
// classified:
//   result        exit 0, and what differs from the unmutated input's output
//                 is accompanied by a problem or warning;
//   clean error   exit ≠ 0 with one line on stderr, "vaat: <file>: …", no
//                 stack trace, no "internal error" (flagged when it names no
//                 offset or address);
//   crash         anything else that exits ≠ 0: a stack trace, an internal
//                 error, several lines, a signal;
//   hang          killed at the time bound;
//   oom           the memory bound hit;
//   silent        exit 0, output differs from the unmutated run's and no
//                 problem says why (or the output is impossible: NaN,
//                 Infinity, an empty backtrace).
// The smallest input that shows each new failure is written to the output
// directory with the command that fails on it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { spawn } from 'node:child_process';

export type Outcome = 'result' | 'clean error' | 'crash' | 'hang' | 'oom' | 'silent';

export interface Case {
  id: string;
  /** Which input it was made from and how. */
  base: string;
  mutator: string;
  /** "dump" or "log". */
  kind: 'dump' | 'log';
  /** The mutated bytes. */
  bytes: Buffer;
  /** Commands to run it with (argument lists after `vaat`, FILE where the path goes). */
  commands: string[][];
}

export interface RunResult {
  command: string;
  outcome: Outcome;
  detail: string;
  noOffset?: boolean;
  ms: number;
  /** Standard output of a result (the file's path replaced by FILE). */
  stdout?: string;
}

/** A small seeded generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];
const INTERESTING64 = [0n, 1n, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 64n - 1n];

interface Field {
  off: number;
  size: 4 | 8;
  name: string;
  be?: boolean;
}

/** Structural fields and boundaries of a dump, by container format. */
export function layout(buf: Buffer): { format: string; fields: Field[]; boundaries: number[]; regions: Array<{ name: string; start: number; end: number }> } {
  const fields: Field[] = [];
  const boundaries: number[] = [];
  const regions: Array<{ name: string; start: number; end: number }> = [];
  const sig8 = buf.subarray(0, 8).toString('latin1');
  if (sig8 === 'KDUMP   ' || sig8 === 'DISKDUMP') {
    for (const [off, name] of [[8, 'header_version'], [424, 'status'], [428, 'block_size'], [432, 'sub_hdr_size'], [436, 'bitmap_blocks'], [440, 'max_mapnr'], [456, 'current_cpu'], [460, 'nr_cpus']] as Array<[number, string]>) fields.push({ off, size: 4, name });
    const bs = buf.readInt32LE(428);
    const sub = buf.readInt32LE(432);
    const bmb = buf.readInt32LE(436);
    for (const [o, n] of [[0, 'phys_base'], [16, 'start_pfn'], [24, 'end_pfn'], [32, 'offset_vmcoreinfo'], [40, 'size_vmcoreinfo'], [48, 'offset_note'], [56, 'size_note'], [96, 'max_mapnr_64']] as Array<[number, string]>) fields.push({ off: bs + o, size: 8, name: `sub.${n}` });
    fields.push({ off: bs + 8, size: 4, name: 'sub.dump_level' }, { off: bs + 12, size: 4, name: 'sub.split' });
    const bm = bs * (1 + sub);
    const desc = bm + bs * bmb;
    boundaries.push(464, bs, bs + 104, bm, bm + (bs * bmb) / 2, desc, desc + 24, desc + 24 * 100);
    regions.push({ name: 'bitmaps', start: bm, end: desc }, { name: 'descriptors', start: desc, end: Math.min(buf.length, desc + 24 * 4096) });
    regions.push({ name: 'pagedata', start: Math.min(buf.length, desc + 24 * 4096), end: buf.length });
    for (let i = 0; i < 64; i++) {
      const d = desc + i * 24 * 37;
      if (d + 24 <= buf.length) fields.push({ off: d, size: 8, name: `desc${i}.offset` }, { off: d + 8, size: 4, name: `desc${i}.size` }, { off: d + 12, size: 4, name: `desc${i}.flags` });
    }
    return { format: 'kdump', fields, boundaries, regions };
  }
  if (buf.readUInt32BE(0) === 0x7f454c46) {
    fields.push({ off: 32, size: 8, name: 'e_phoff' }, { off: 40, size: 8, name: 'e_shoff' });
    const phoff = Number(buf.readBigUInt64LE(32));
    const phnum = buf.readUInt16LE(56);
    boundaries.push(64, phoff, phoff + 56, phoff + 56 * phnum);
    for (let i = 0; i < Math.min(phnum, 16); i++) {
      const o = phoff + i * 56;
      for (const [d, n, sz] of [[4, 'p_flags', 4], [8, 'p_offset', 8], [24, 'p_paddr', 8], [32, 'p_filesz', 8], [40, 'p_memsz', 8]] as Array<[number, string, 4 | 8]>) fields.push({ off: o + d, size: sz, name: `ph${i}.${n}` });
      const type = buf.readUInt32LE(o);
      const off = Number(buf.readBigUInt64LE(o + 8));
      const sz = Number(buf.readBigUInt64LE(o + 32));
      if (type === 4) {
        regions.push({ name: 'notes', start: off, end: off + sz });
        boundaries.push(off + 12, off + sz >> 1);
        for (let k = 0; k < 8; k++) fields.push({ off: off + k * 0x150, size: 4, name: `note${k}.descsz` });
      } else if (type === 1) regions.push({ name: `load${i}`, start: off, end: Math.min(buf.length, off + sz) });
    }
    return { format: 'elf', fields, boundaries, regions };
  }
  if (buf.subarray(0, 12).toString('latin1') === 'makedumpfile') {
    fields.push({ off: 16, size: 8, name: 'flat.type', be: true }, { off: 24, size: 8, name: 'flat.version', be: true });
    let pos = 4096;
    for (let i = 0; i < 64 && pos + 16 <= buf.length; i++) {
      fields.push({ off: pos, size: 8, name: `rec${i}.offset`, be: true }, { off: pos + 8, size: 8, name: `rec${i}.size`, be: true });
      const size = Number(buf.readBigInt64BE(pos + 8));
      if (size < 0 || size > buf.length) break;
      boundaries.push(pos + 16);
      pos += 16 + size;
    }
    regions.push({ name: 'records', start: 4096, end: buf.length });
    return { format: 'flattened', fields, boundaries, regions };
  }
  return { format: 'unknown', fields, boundaries: [], regions: [{ name: 'all', start: 0, end: buf.length }] };
}

function write(b: Buffer, f: Field, v: bigint): void {
  if (f.off + f.size > b.length) return;
  if (f.size === 4) {
    const x = Number(BigInt.asUintN(32, v));
    if (f.be) b.writeUInt32BE(x, f.off);
    else b.writeUInt32LE(x, f.off);
  } else if (f.be) b.writeBigUInt64BE(BigInt.asUintN(64, v), f.off);
  else b.writeBigUInt64LE(BigInt.asUintN(64, v), f.off);
}

/** VMCOREINFO keys whose values are rewritten in place (same length). */
const VMCOREINFO_KEYS = ['OSRELEASE=', 'PAGESIZE=', 'SYMBOL(kallsyms_names)=', 'SYMBOL(kallsyms_num_syms)=', 'SYMBOL(kallsyms_token_table)=', 'SYMBOL(swapper_pg_dir)=',
  'SYMBOL(_stext)=', 'SYMBOL(prb)=', 'OFFSET(printk_info.text_len)=', 'OFFSET(prb_desc.info)=', 'SIZE(printk_info)=', 'SIZE(prb_desc)=', 'OFFSET(printk_info.seq)=',
  'NUMBER(phys_base)=', 'KERNELOFFSET=', 'NUMBER(pgtable_l5_enabled)=', 'CRASHTIME=', 'OFFSET(prb_data_ring.size_bits)='];

/** Mutations of a dump: each a function of the original bytes and a random source, returning the mutated copy and its name. */
export function dumpMutators(buf: Buffer): Array<(r: () => number) => { name: string; bytes: Buffer } | null> {
  const L = layout(buf);
  const pick = <T>(xs: T[], r: () => number) => xs[Math.floor(r() * xs.length)]!;
  const copy = () => Buffer.from(buf);
  return [
    (r) => {
      // Truncation at a structural boundary (or just before/after it).
      if (!L.boundaries.length) return null;
      const b = pick(L.boundaries, r) + pick([-1, 0, 1, 7, 4096], r);
      const at = Math.max(0, Math.min(buf.length - 1, b));
      return { name: `truncate@${at}`, bytes: buf.subarray(0, at) };
    },
    (r) => {
      const at = Math.floor(r() * buf.length);
      return { name: `truncate-random@${at}`, bytes: buf.subarray(0, at) };
    },
    (r) => {
      // An interesting value in a header field.
      if (!L.fields.length) return null;
      const f = pick(L.fields, r);
      const v = f.size === 4 ? BigInt(pick(INTERESTING32, r)) : pick(INTERESTING64, r);
      const b = copy();
      write(b, f, v);
      return { name: `${f.name}=${v}`, bytes: b };
    },
    (r) => {
      // Bit flips in a header field.
      if (!L.fields.length) return null;
      const f = pick(L.fields, r);
      const b = copy();
      const bit = Math.floor(r() * f.size * 8);
      if (f.off + (bit >> 3) < b.length) b[f.off + (bit >> 3)]! ^= 1 << (bit & 7);
      return { name: `${f.name}^bit${bit}`, bytes: b };
    },
    (r) => {
      // Bytes corrupted inside a region (compressed pages, descriptors, notes, memory).
      const reg = pick(L.regions.filter((x) => x.end > x.start), r);
      if (!reg) return null;
      const b = copy();
      const n = 1 + Math.floor(r() * 64);
      const start = reg.start + Math.floor(r() * Math.max(1, reg.end - reg.start - n));
      for (let i = 0; i < n && start + i < b.length; i++) b[start + i] = Math.floor(r() * 256);
      return { name: `scribble-${reg.name}@${start}+${n}`, bytes: b };
    },
    (r) => {
      // A region zeroed (bitmaps: nothing dumped; notes: no registers, no VMCOREINFO).
      const reg = pick(L.regions, r);
      if (!reg) return null;
      const b = copy();
      b.fill(0, reg.start, Math.min(reg.end, reg.start + (1 << 20)));
      return { name: `zero-${reg.name}`, bytes: b };
    },
    (r) => {
      // A VMCOREINFO value rewritten in place: garbage, or another number of the same width.
      const b = copy();
      const key = pick(VMCOREINFO_KEYS, r);
      const at = b.indexOf(key, 0, 'latin1');
      if (at < 0) return null;
      const vs = at + key.length;
      let ve = vs;
      while (ve < b.length && b[ve] !== 0x0a && ve - vs < 64) ve++;
      const mode = Math.floor(r() * 3);
      for (let i = vs; i < ve; i++) b[i] = mode === 0 ? 0x7a /* z */ : mode === 1 ? 0x30 + Math.floor(r() * 10) : Math.floor(r() * 256);
      return { name: `vmcoreinfo-${key.replace(/=$/, '')}-${['z', 'digits', 'bytes'][mode]}`, bytes: b };
    },
    (r) => {
      // The flattened tail zero-filled (a dump written to a sparse file, cut short).
      const b = copy();
      const from = Math.floor(buf.length * (0.5 + r() * 0.5));
      b.fill(0, from);
      return { name: `zero-tail@${from}`, bytes: b };
    },
  ];
}

/** Hostile console text: binary, huge lines, endless traces, every Unicode oddity. */
export function logMutators(text: string): Array<(r: () => number) => { name: string; bytes: Buffer } | null> {
  return [
    (r) => {
      const b = Buffer.from(text, 'latin1');
      for (let i = 0; i < 64; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      return { name: 'log-bytes', bytes: b };
    },
    () => ({ name: 'log-huge-line', bytes: Buffer.from(text + '\n' + 'A'.repeat(8 << 20) + '\n', 'latin1') }),
    () => ({ name: 'log-1M-frames', bytes: Buffer.from('BUG: kernel NULL pointer dereference, address: 0000000000000000\nCall Trace:\n' + ' lab_frame+0x1/0x2\n'.repeat(1_000_000), 'latin1') }),
    () => ({ name: 'log-inline-chain', bytes: Buffer.from('BUG: KASAN: use-after-free in f+0x1/0x2\nCall Trace:\n' + ' g a/b.c:1 [inline]\n'.repeat(200_000) + ' h+0x1/0x2 a/b.c:2\n', 'latin1') }),
    (r) => {
      const odd = ['\u202e', '\u200b', '\u0301\u0301\u0301', '\ud83d\udca5', '\ufeff', '\u0000', '\u001b[2J', '\ufffd', '\u2028', '<script>alert(1)</script>', '"\'`', '%n%s'];
      const lines = text.split('\n').map((l) => (r() < 0.3 ? l.replace(/(\w+)/, `$1${odd[Math.floor(r() * odd.length)]}`) : l));
      return { name: 'log-unicode', bytes: Buffer.from(lines.join('\n'), 'utf8') };
    },
    (r) => ({ name: 'log-binary', bytes: crypto.randomBytes(1 << 16).map(() => Math.floor(r() * 256)) as Buffer }),
    () => ({ name: 'log-empty', bytes: Buffer.alloc(0) }),
    (r) => {
      const lines = text.split('\n');
      const cut = lines.slice(0, Math.floor(r() * lines.length));
      return { name: 'log-cut', bytes: Buffer.from(cut.join('\n'), 'latin1') };
    },
    (r) => ({ name: 'log-long-symbol', bytes: Buffer.from(`BUG: unable to handle page fault for address: ffffffffffffffff\nRIP: 0010:${'_R'.repeat(Math.floor(5000 + r() * 5000))}+0x1/0x2\nCall Trace:\n ${'x'.repeat(100000)}+0x1/0x2\n`, 'latin1') }),
  ];
}

/** Run one command (vaat argv with FILE) on a file, bounded in time and memory, and classify it. */
export function runCase(vaatBin: string, argv: string[], file: string, opts: { timeoutMs: number; heapMb: number; baseline?: string | null }): Promise<RunResult> {
  const args = argv.map((a) => (a === 'FILE' ? file : a));
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${opts.heapMb}`, vaatBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 64 << 20) out += d.toString('latin1');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 1 << 20) err += d.toString('latin1');
    });
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - t0;
      const command = args.map((a) => (a === file ? 'FILE' : a)).join(' ');
      const errLines = err.split('\n').filter((l) => l.trim() && !/^vaat: warning: /.test(l) && !/^vaat: index /.test(l));
      if (killed) return resolve({ command, outcome: 'hang', detail: `no answer in ${opts.timeoutMs} ms`, ms });
      if (/heap out of memory|Allocation failed|Array buffer allocation failed|RangeError: Invalid (array|string) length/.test(err)) return resolve({ command, outcome: 'oom', detail: firstLine(err), ms });
      if (code !== 0) {
        const one = errLines.length === 1 && /^vaat: /.test(errLines[0]!) && !/internal error/.test(errLines[0]!) && !/^\s+at /m.test(err) && signal === null;
        if (!one) return resolve({ command, outcome: 'crash', detail: signal ? `signal ${signal}` : firstLine(errLines.join('\n') || err), ms });
        return resolve({ command, outcome: 'clean error', detail: errLines[0]!, noOffset: !/(offsets?|address|at|bytes?) \d+|0x[0-9a-f]+|[0-9a-f]{8,}|\d+ bytes/i.test(errLines[0]!), ms });
      }
      // Exit 0: impossible values, or a difference from the unmutated run no problem explains.
      if (/\b(NaN|Infinity)\b/.test(out)) return resolve({ command, outcome: 'silent', detail: 'NaN or Infinity in the output', ms });
      if (/^bt /.test(command) && !out.trim()) return resolve({ command, outcome: 'silent', detail: 'empty backtrace output', ms });
      const warned = /vaat: warning: /.test(err) || /"problems": \[\s*\{/.test(out) || /"dumpProblems": \[\s*["{]/.test(out) || /PROBLEMS\s+[1-9]/.test(out) || /CORRUPTED|truncated|not in dump|excluded|unreadable|partial/i.test(out);
      if (opts.baseline !== undefined && opts.baseline !== null && normalize(out.split(file).join('FILE')) !== normalize(opts.baseline) && !warned) {
        return resolve({ command, outcome: 'silent', detail: 'output differs from the unmutated input\'s, no problem reported', ms });
      }
      resolve({ command, outcome: 'result', detail: '', ms, stdout: out.split(file).join('FILE') });
    });
  });
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim()) ?? '').slice(0, 300);
}

/** Output without what legitimately changes with the file (name, size, hash). */
export function normalize(out: string): string {
  return out
    .replace(/"(hash|bytes|name)": [^\n]*\n/g, '')
    .replace(/sha256(-sampled)? [0-9a-f]{12}/g, '')
    .replace(/\/[^\s"]*vaat-fuzz[^\s"]*/g, 'FILE');
}

/** A failure's signature for deduplication: command word, outcome, message without numbers and paths. */
export function failureKey(r: RunResult): string {
  return `${r.command.split(' ')[0]} ${r.outcome} ${r.detail.replace(/\/\S+/g, 'PATH').replace(/0x[0-9a-f]+|\d+/gi, 'N').slice(0, 160)}`;
}

export function saveReproducer(dir: string, c: Case, r: RunResult): string {
  fs.mkdirSync(dir, { recursive: true });
  const name = `${c.id}-${r.outcome.replace(' ', '-')}`;
  const file = path.join(dir, name + (c.kind === 'log' ? '.log' : '.dump'));
  fs.writeFileSync(file, c.bytes);
  fs.writeFileSync(path.join(dir, name + '.txt'), `base: ${c.base}\nmutator: ${c.mutator}\ncommand: vaat ${r.command.replace('FILE', file)}\noutcome: ${r.outcome}\ndetail: ${r.detail}\n`);
  return file;
}

export interface Base {
  name: string;
  kind: 'dump' | 'log';
  bytes: Buffer;
}

export interface CampaignOptions {
  vaat: string;
  bases: Base[];
  cases: number;
  seed: number;
  jobs: number;
  timeoutMs: number;
  heapMb: number;
  out: string;
  /** A fifth of the dump cases also run as report, bt -a and log. */
  extraEvery?: number;
  progress?: (line: string) => void;
}

export interface CampaignResult {
  cases: number;
  seconds: number;
  /** input kind / command → outcome → runs */
  table: Record<string, Record<string, number>>;
  cleanErrorsWithoutOffset: number;
  /** Those clean errors by message (numbers and paths folded), with a count and one example each. */
  cleanErrorsWithoutOffsetKinds: Array<{ key: string; count: number; example: string }>;
  failures: Array<{ key: string; count: number; example: string; reproducer: string }>;
}

/** Run a campaign: mutate the bases, run every case through the CLI, tabulate, keep the smallest reproducer of each failure. */
export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const r = rng(o.seed);
  const work = fs.mkdtempSync(path.join(path.dirname(o.out), `.vaat-fuzz-work-`));
  const commandsFor = (kind: 'dump' | 'log', extra: boolean): string[][] =>
    kind === 'log'
      ? [['signature', '--json', '--log', 'FILE']]
      : [['signature', '--json', 'FILE'], ...(extra ? [['bt', '-a', 'FILE'], ['log', 'FILE'], ['report', 'FILE', '-o', path.join(work, 'report')]] : [])];
  // The unmutated input's output per command: a mutation may change it only with a problem said.
  const baselines = new Map<string, string | null>();
  for (const [i, b] of o.bases.entries()) {
    const file = path.join(work, `base-${i}`);
    fs.writeFileSync(file, b.bytes);
    for (const cmd of commandsFor(b.kind, true)) {
      if (cmd[0] === 'report') continue;
      const res = await runCase(o.vaat, cmd, file, { timeoutMs: o.timeoutMs, heapMb: o.heapMb });
      baselines.set(`${b.name}|${cmd.join(' ')}`, res.outcome === 'result' ? (res as RunResult & { stdout?: string }).stdout ?? null : null);
    }
  }
  const table = new Map<string, Map<string, number>>();
  const failures = new Map<string, { size: number; file: string; count: number; example: string }>();
  let noOffset = 0;
  const noOffsetKinds = new Map<string, { count: number; example: string }>();
  let next = 0;
  let done = 0;
  const t0 = Date.now();
  const mutators = new Map(o.bases.map((b) => [b.name, b.kind === 'dump' ? dumpMutators(b.bytes) : logMutators(b.bytes.toString('latin1'))]));
  const one = async (i: number) => {
    const b = o.bases[i % o.bases.length]!;
    const muts = mutators.get(b.name)!;
    let m: { name: string; bytes: Buffer } | null = null;
    for (let tries = 0; tries < 8 && !m; tries++) m = muts[Math.floor(r() * muts.length)]!(r);
    if (!m) return;
    const c: Case = { id: `s${o.seed}c${i}`, base: b.name, mutator: m.name, kind: b.kind, bytes: m.bytes, commands: commandsFor(b.kind, i % (o.extraEvery ?? 5) === 0) };
    const file = path.join(work, `case-${i}`);
    fs.writeFileSync(file, c.bytes);
    for (const cmd of c.commands) {
      const base = baselines.get(`${b.name}|${cmd.join(' ')}`);
      const res = await runCase(o.vaat, cmd, file, { timeoutMs: o.timeoutMs, heapMb: o.heapMb, baseline: cmd[0] === 'report' || base === null || base === undefined ? undefined : base });
      const k = b.kind === 'dump' ? `dump ${cmd[0]}` : 'console log';
      if (!table.has(k)) table.set(k, new Map());
      table.get(k)!.set(res.outcome, (table.get(k)!.get(res.outcome) ?? 0) + 1);
      if (res.outcome === 'clean error' && res.noOffset) {
        noOffset++;
        const key = failureKey(res);
        const k = noOffsetKinds.get(key) ?? { count: 0, example: `${b.name} ${m.name}: vaat ${res.command} → ${res.detail}` };
        k.count++;
        noOffsetKinds.set(key, k);
      }
      if (res.outcome !== 'result' && res.outcome !== 'clean error') {
        const key = failureKey(res);
        const prev = failures.get(key);
        const example = `${b.name} ${m.name}: vaat ${res.command} → ${res.outcome}: ${res.detail}`;
        if (!prev || c.bytes.length < prev.size) {
          if (prev) fs.rmSync(prev.file, { force: true });
          failures.set(key, { size: c.bytes.length, file: saveReproducer(path.join(o.out, 'reproducers'), c, res), count: (prev?.count ?? 0) + 1, example });
        } else prev.count++;
      }
    }
    fs.rmSync(file, { force: true });
  };
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, async () => {
    while (next < o.cases) {
      const i = next++;
      await one(i);
      done++;
      if (done % 100 === 0 || done === o.cases) o.progress?.(`fuzz: ${done}/${o.cases} cases, ${failures.size} distinct failures, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  }));
  fs.rmSync(work, { recursive: true, force: true });
  return {
    cases: o.cases, seconds: (Date.now() - t0) / 1000,
    table: Object.fromEntries([...table].map(([k, m]) => [k, Object.fromEntries(m)])),
    cleanErrorsWithoutOffset: noOffset,
    cleanErrorsWithoutOffsetKinds: [...noOffsetKinds].map(([key, k]) => ({ key, ...k })).sort((a, b) => b.count - a.count),
    failures: [...failures].map(([key, f]) => ({ key, count: f.count, example: f.example, reproducer: f.file })),
  };
}

export const OUTCOMES: Outcome[] = ['result', 'clean error', 'crash', 'hang', 'oom', 'silent'];

export function renderCampaign(c: CampaignResult): string {
  const lines = [`| input / command | ${OUTCOMES.join(' | ')} |`, `|---|${OUTCOMES.map(() => '---').join('|')}|`];
  for (const [k, m] of Object.entries(c.table).sort()) lines.push(`| ${k} | ${OUTCOMES.map((x) => m[x] ?? 0).join(' | ')} |`);
  return lines.join('\n');
}
