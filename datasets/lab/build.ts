// Building what the guest boots with: our labcrash.ko against the kernel's
// own headers, and a busybox initramfs holding the lab's /init, the few
// driver modules it loads (fw_cfg for -device vmcoreinfo, pvpanic, virtio
// for the dump disk), kexec and makedumpfile with their libraries, and —
// for the kdump path — the capture kernel and its initrd.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { packageRoot } from '../../src/util/datafile.js';
import { run, which, LabError, busyboxPath, kernelsFile, privateApt, aptDownload, debDepends } from './host.js';
import type { LabKernel } from './kernel.js';

export const LAB_DIR = () => path.join(packageRoot(), 'datasets', 'lab');

/** Hash of everything that decides what a run produces (module source, guest init, scenario table, lab code version). */
export function labVersion(): string {
  const h = crypto.createHash('sha256');
  for (const f of ['labcrash/labcrash.c', 'labcrash/Kbuild', 'guest/init', 'names.json']) h.update(fs.readFileSync(path.join(LAB_DIR(), f)));
  // Of the kernel table, what every run shares (apt sources, the capture kernel's makedumpfile);
  // a kernel's own entry goes into its runs' cache keys, so adding a kernel keeps the others' runs.
  const kt = kernelsFile();
  h.update(JSON.stringify([kt.apt, kt.guestMakedumpfile]));
  // Of the scenario table, only what changes how a run is made. Labels and the expected panic
  // are not built into a dump: cached runs are re-checked against them on every build.
  const table = JSON.parse(fs.readFileSync(path.join(LAB_DIR(), 'scenarios.json'), 'utf8')) as { scenarios: Array<Record<string, unknown>> };
  h.update(JSON.stringify(table.scenarios.map((s) => [s.name, s.minCpus ?? null, s.timeout, s.lockType ?? null])));
  h.update('lab-runner-3');
  return h.digest('hex').slice(0, 16);
}

/** Build labcrash.ko for this kernel (cached by source hash). */
export function buildModule(k: LabKernel, cacheDir: string, log: (s: string) => void): string {
  const src = path.join(LAB_DIR(), 'labcrash');
  const h = crypto.createHash('sha256').update(fs.readFileSync(path.join(src, 'labcrash.c'))).update(fs.readFileSync(path.join(src, 'Kbuild'))).digest('hex').slice(0, 12);
  const dir = path.join(cacheDir, 'build', `labcrash-${k.release}-${h}`);
  const ko = path.join(dir, 'labcrash.ko');
  // The stamp, written after make succeeded, marks a complete build (a killed make can leave a .ko).
  const done = path.join(dir, '.built');
  if (fs.existsSync(done) && fs.existsSync(ko)) return ko;
  log(`building labcrash.ko for ${k.release}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['labcrash.c', 'Kbuild']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  run('make', ['-C', k.build, `M=${dir}`, 'modules'], { what: `building labcrash.ko against ${k.release}` });
  if (!fs.existsSync(ko)) throw new LabError(`make produced no ${ko}`);
  fs.writeFileSync(done, '');
  return ko;
}

/** Driver modules the guest loads, with their dependencies, in load order (relative to lib/modules/<release>). */
function moduleClosure(k: LabKernel, wanted: string[]): string[] {
  const dep = path.join(k.modules, 'modules.dep');
  if (!fs.existsSync(dep)) run('depmod', ['-b', path.resolve(k.modules, '..', '..', '..'), k.release], { what: 'depmod on the unpacked kernel' });
  const deps = new Map<string, string[]>();
  for (const line of fs.readFileSync(dep, 'utf8').split('\n')) {
    const [m, rest] = line.split(':');
    if (m) deps.set(m.trim(), (rest ?? '').trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map<string, string>();
  for (const m of deps.keys()) byName.set(path.basename(m).replace(/\.ko(\.xz|\.zst|\.gz)?$/, '').replace(/-/g, '_'), m);
  const order: string[] = [];
  const visit = (m: string, depth: number) => {
    if (order.includes(m) || depth > 32) return;
    for (const d of deps.get(m) ?? []) visit(d, depth + 1);
    order.push(m);
  };
  for (const w of wanted) {
    const m = byName.get(w.replace(/-/g, '_'));
    if (m) visit(m, 0); // built in when absent from modules.dep
  }
  return order;
}

/** Shared libraries an executable needs (from ldd), including the loader. */
function libsOf(bin: string): string[] {
  const out = run('ldd', [bin], { what: `ldd ${bin}` });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

function copyInto(root: string, file: string, as = file): void {
  const dst = path.join(root, as);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.copyFileSync(fs.realpathSync(file), dst);
  fs.chmodSync(dst, fs.statSync(fs.realpathSync(file)).mode & 0o777);
}

function decompressTool(tool: string, file: string): Buffer {
  const r = spawnSync(tool, ['-dc', file], { maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new LabError(`${tool} -dc ${file} failed: ${String(r.stderr).trim()}`);
  return r.stdout;
}

/** Pack a tree as a gzipped newc archive; written aside and renamed, so a killed lab never leaves half an image to reuse. */
function cpio(root: string, out: string): void {
  const tmp = `${out}.part`;
  run('sh', ['-c', `cd "${root}" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 > "${tmp}"`], { what: 'cpio' });
  fs.renameSync(tmp, out);
}

/**
 * trixie's makedumpfile (1.7.6: zstd pages, and slab pages kept on 6.12 at
 * -d 31) with every library it needs, down to its own glibc and loader: the
 * host's glibc is too old to run it, the capture kernel runs it through the
 * bundled ld.so. Returns a directory holding makedumpfile, ld.so and lib/.
 */
export function guestMakedumpfile(cacheDir: string, log: (s: string) => void): string {
  const g = kernelsFile().guestMakedumpfile;
  const dir = path.join(cacheDir, 'mdf', `${g.package}-${g.suite}`);
  const done = path.join(dir, 'bundle', 'makedumpfile');
  if (fs.existsSync(done)) return path.join(dir, 'bundle');
  log(`fetching makedumpfile ${g.version} from ${g.suite} and the libraries it runs with`);
  const aptOpts = privateApt(path.join(cacheDir, 'apt'), log);
  const debsDir = path.join(dir, 'debs');
  const seen = new Set<string>();
  const queue = [g.package];
  const debs: string[] = [];
  while (queue.length && seen.size < 40) {
    const name = queue.shift()!;
    if (seen.has(name) || g.stopAt.includes(name)) continue;
    seen.add(name);
    const [deb] = aptDownload(aptOpts, [`${name}/${g.suite}`], debsDir);
    debs.push(deb!);
    // Only shared libraries matter for running the binary (not perl, debconf, ...).
    for (const d of debDepends(deb!).map((x) => x.replace(/:any$/, ''))) if (/^(lib|zlib)/.test(d) && !seen.has(d)) queue.push(d);
  }
  const root = path.join(dir, 'root');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  for (const d of debs) run('dpkg', ['-x', d, root], { what: `dpkg -x ${path.basename(d)}` });
  // Assembled aside and renamed into place once it runs: a half-built bundle is never reused.
  const bundle = path.join(dir, 'bundle.new');
  fs.rmSync(bundle, { recursive: true, force: true });
  fs.mkdirSync(path.join(bundle, 'lib'), { recursive: true });
  const first = (cands: string[]) => cands.map((c) => path.join(root, c)).find((c) => fs.existsSync(c));
  const bin = first(['usr/sbin/makedumpfile', 'sbin/makedumpfile', 'usr/bin/makedumpfile']);
  const ld = first(['usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'usr/lib64/ld-linux-x86-64.so.2', 'lib64/ld-linux-x86-64.so.2']);
  if (!bin || !ld) throw new LabError(`makedumpfile or ld.so missing from the ${g.suite} packages`);
  fs.copyFileSync(bin, path.join(bundle, 'makedumpfile'));
  fs.chmodSync(path.join(bundle, 'makedumpfile'), 0o755);
  fs.copyFileSync(ld, path.join(bundle, 'ld.so'));
  fs.chmodSync(path.join(bundle, 'ld.so'), 0o755);
  for (const libdir of ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu']) {
    const d = path.join(root, libdir);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d)) {
      if (!/\.so(\.|$)/.test(f)) continue;
      const src = path.join(d, f);
      if (fs.statSync(src).isFile()) fs.copyFileSync(fs.realpathSync(src), path.join(bundle, 'lib', f));
    }
  }
  // Does it run? (On the host too: the bundled loader brings its own glibc.)
  const v = run(path.join(bundle, 'ld.so'), ['--library-path', path.join(bundle, 'lib'), path.join(bundle, 'makedumpfile'), '-v'], { what: 'bundled makedumpfile -v' });
  if (!/zstd\s+enabled/.test(v)) throw new LabError(`bundled makedumpfile has no zstd: ${v.trim().split('\n').slice(-2).join(' ')}`);
  fs.rmSync(path.join(dir, 'bundle'), { recursive: true, force: true });
  fs.renameSync(bundle, path.join(dir, 'bundle'));
  return path.join(dir, 'bundle');
}

export interface Initramfs {
  /** The initrd to boot: base plus, for kdump, the capture kernel and its initrd. */
  path: string;
  bytes: number;
}

/** Build (or reuse) the guest initramfs for a kernel. */
export function buildInitramfs(k: LabKernel, ko: string, cacheDir: string, log: (s: string) => void): Initramfs {
  const mdf = guestMakedumpfile(cacheDir, log);
  const key = crypto.createHash('sha256').update(labVersion()).update(k.release).update(fs.readFileSync(ko)).update(fs.readFileSync(path.join(mdf, 'makedumpfile'))).digest('hex').slice(0, 12);
  const dir = path.join(cacheDir, 'initramfs', `${k.release}-${key}`);
  const full = path.join(dir, 'initrd-full.img');
  if (fs.existsSync(full)) return { path: full, bytes: fs.statSync(full).size };
  log(`building the initramfs for ${k.release}`);
  const root = path.join(dir, 'root');
  fs.rmSync(dir, { recursive: true, force: true });
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'lib/modules', 'kdump']) fs.mkdirSync(path.join(root, d), { recursive: true });
  copyInto(root, busyboxPath(), '/bin/busybox');
  fs.symlinkSync('busybox', path.join(root, 'bin', 'sh'));
  copyInto(root, path.join(LAB_DIR(), 'guest', 'init'), '/init');
  fs.chmodSync(path.join(root, 'init'), 0o755);
  // Driver modules, decompressed (busybox insmod reads plain .ko), in dependency order.
  const order = moduleClosure(k, ['qemu_fw_cfg', 'pvpanic_mmio', 'virtio_pci', 'virtio_blk']);
  const names: string[] = [];
  for (const m of order) {
    const src = path.join(k.modules, m);
    const name = path.basename(m).replace(/\.(xz|zst|gz)$/, '');
    const dst = path.join(root, 'lib', 'modules', name);
    if (m.endsWith('.xz')) fs.writeFileSync(dst, decompressTool('xz', src));
    else if (m.endsWith('.zst')) fs.writeFileSync(dst, decompressTool('zstd', src));
    else fs.copyFileSync(src, dst);
    names.push(name);
  }
  fs.writeFileSync(path.join(root, 'lib', 'modules', 'load-order'), names.join('\n') + '\n');
  fs.copyFileSync(ko, path.join(root, 'lib', 'modules', 'labcrash.ko'));
  // kexec (load the capture kernel) and makedumpfile (write the dump from it), with their libraries.
  for (const [tool, at] of [['kexec', '/usr/sbin/kexec'], ['makedumpfile', '/usr/bin/makedumpfile']] as const) {
    const bin = which(tool);
    if (!bin) throw new LabError(`${tool} not found on the host`);
    copyInto(root, bin, at);
    for (const lib of libsOf(bin)) copyInto(root, lib);
  }
  // makedumpfile 1.7.6 with its own loader and libraries, for zstd dumps.
  fs.mkdirSync(path.join(root, 'opt', 'mdf176'), { recursive: true });
  fs.cpSync(mdf, path.join(root, 'opt', 'mdf176'), { recursive: true });
  const base = path.join(dir, 'initrd-base.img');
  cpio(root, base);
  // The full initrd adds the capture kernel and the base initrd it boots with.
  fs.copyFileSync(k.vmlinuz, path.join(root, 'kdump', 'vmlinuz'));
  fs.copyFileSync(base, path.join(root, 'kdump', 'initrd.img'));
  cpio(root, full);
  fs.rmSync(root, { recursive: true, force: true });
  return { path: full, bytes: fs.statSync(full).size };
}
