// The real vmcores in ../shared/vmcores (read-only ground truth): where they
// are, what crash printed for them, and cached Programs over them. Tests do
// not skip when they are missing: they fail and say where they looked.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/util/datafile.js';
import { materialize } from '../../src/util/zst.js';
import { Program } from '../../src/kernel/program.js';
import { signatureFromDump, type Signature } from '../../features/signature.js';

export const SHARED = process.env.VAAT_SHARED ?? path.resolve(packageRoot(), '..', 'shared');
export const KERNEL_DIR = path.join(SHARED, 'vmcores', '6.1.0-56-amd64');

export interface Meta {
  kernel: string;
  scenario: string;
  label: string;
  format: string;
  compression: string;
  capture: string;
  dump: string;
  panic: string | null;
  oops: string | null;
}

export interface Fixture {
  name: string;
  dir: string;
  meta: Meta;
  /** The dump file, decompressed first when it is stored as .zst. */
  dumpPath: string;
  crash(cmd: string): string;
  console(): string;
}

export function requireShared(): void {
  if (!fs.existsSync(KERNEL_DIR)) {
    throw new Error(`real vmcores are expected at ${KERNEL_DIR} (../shared beside the checkout, or set VAAT_SHARED); they are the ground truth for these tests`);
  }
}

let all: Fixture[] | null = null;

export function fixtures(): Fixture[] {
  if (all) return all;
  requireShared();
  all = fs.readdirSync(KERNEL_DIR)
    .filter((d) => fs.existsSync(path.join(KERNEL_DIR, d, 'meta.json')))
    .sort()
    .map((name) => {
      const dir = path.join(KERNEL_DIR, name);
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
      let dumpPath: string | null = null;
      return {
        name,
        dir,
        meta,
        get dumpPath() {
          dumpPath ??= materialize(path.join(dir, meta.dump));
          return dumpPath;
        },
        crash: (cmd: string) => fs.readFileSync(path.join(dir, 'crash', `${cmd}.txt`), 'latin1'),
        console: () => fs.readFileSync(path.join(dir, 'console.log'), 'latin1'),
      };
    });
  if (all.length < 7) throw new Error(`expected 7 fixture dumps under ${KERNEL_DIR}, found ${all.length}`);
  return all;
}

export function fixture(name: string): Fixture {
  const f = fixtures().find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name} under ${KERNEL_DIR}`);
  return f;
}

const programs = new Map<string, Program>();

/** One Program per fixture per test process. */
export function openFixture(name: string): Program {
  let p = programs.get(name);
  if (!p) {
    const f = fixture(name);
    p = Program.open(f.dumpPath, { displayPath: path.join(f.dir, f.meta.dump) });
    programs.set(name, p);
  }
  return p;
}

const signatures = new Map<string, Signature>();

/** A fixture's signature, extracted once per test process (over the cached Program, left open for other tests). */
export function fixtureSignature(name: string): Signature {
  let s = signatures.get(name);
  if (!s) {
    s = signatureFromDump(openFixture(name), fixture(name).dumpPath);
    signatures.set(name, s);
  }
  return s;
}

export const SYSTEM_MAP = path.join(KERNEL_DIR, 'System.map');
export const PAHOLE = path.join(KERNEL_DIR, 'structs-pahole.txt');

/** crash's "KEY: value" lines (sys) as a map. */
export function parseCrashSys(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const r = /^\s*([A-Z][A-Z _]*?):\s(.*)$/.exec(line);
    if (r) m.set(r[1]!.trim(), r[2]!.trim());
  }
  return m;
}
