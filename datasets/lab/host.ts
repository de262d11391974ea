// What the lab needs from the host: running commands with a clear error
// when they fail, Debian packages installed (apt-get, as root), and kernel
// packages downloaded through a private apt configuration that adds
// bookworm-backports without touching the host's own sources.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { dataJson } from '../../src/util/datafile.js';

export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabError';
  }
}

export interface KernelsFile {
  kernels: Record<string, { release: string; suite: string; fallbackMeta: string; dumpLevel: number }>;
  apt: { sources: string[]; hostPackages: string[] };
  guestMakedumpfile: { package: string; suite: string; version: string; stopAt: string[] };
}

export const kernelsFile = () => dataJson<KernelsFile>('datasets/lab/kernels.json');

/** Run a command; throw LabError with its stderr tail when it fails. */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions & { what?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  if (r.error) throw new LabError(`${opts.what ?? cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-6).join('\n');
    throw new LabError(`${opts.what ?? `${cmd} ${args.join(' ')}`} failed (exit ${r.status}):\n${tail}`);
  }
  return String(r.stdout ?? '');
}

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

const TOOL_OF: Record<string, string> = {
  'qemu-system-x86': 'qemu-system-x86_64',
  'busybox-static': 'busybox',
  'kexec-tools': 'kexec',
  makedumpfile: 'makedumpfile',
  cpio: 'cpio',
  'gcc-12': 'gcc-12',
  make: 'make',
  'xz-utils': 'xz',
  kmod: 'depmod',
  dwarves: 'pahole',
};

/** Install the host packages the lab uses that are missing (needs root and apt). */
export function ensureHostPackages(log: (s: string) => void): void {
  const missing = kernelsFile().apt.hostPackages.filter((p) => !which(TOOL_OF[p] ?? p));
  // busybox-static provides /bin/busybox, but a dynamic busybox may be there instead.
  if (!missing.includes('busybox-static') && !isStaticBusybox()) missing.push('busybox-static');
  if (!missing.length) return;
  if (process.getuid?.() !== 0) throw new LabError(`missing host packages ${missing.join(' ')}: install them (apt-get install ${missing.join(' ')}) or run as root`);
  log(`installing ${missing.join(' ')} from apt`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, what: 'apt-get install' });
  } catch {
    run('apt-get', ['update'], { env, what: 'apt-get update' });
    run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, what: 'apt-get install' });
  }
}

export function busyboxPath(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) if (fs.existsSync(p)) return p;
  throw new LabError('busybox not found (apt-get install busybox-static)');
}

function isStaticBusybox(): boolean {
  try {
    const head = Buffer.alloc(4096);
    const fd = fs.openSync(busyboxPath(), 'r');
    fs.readSync(fd, head, 0, 4096, 0);
    fs.closeSync(fd);
    // A static ELF has no PT_INTERP: look for the interpreter path in the first page.
    return !head.includes(Buffer.from('/lib64/ld-linux'));
  } catch {
    return false;
  }
}

/** A private apt state under `dir` (sources from kernels.json), updated once per day. */
export function privateApt(dir: string, log: (s: string) => void): string[] {
  const etc = path.join(dir, 'etc');
  const lists = path.join(dir, 'lists');
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(path.join(lists, 'partial'), { recursive: true });
  fs.mkdirSync(path.join(cache, 'archives', 'partial'), { recursive: true });
  fs.mkdirSync(etc, { recursive: true });
  const sources = path.join(etc, 'sources.list');
  const text = kernelsFile().apt.sources.join('\n') + '\n';
  const opts = [
    '-o', `Dir::Etc::SourceList=${sources}`, '-o', 'Dir::Etc::SourceParts=-', '-o', `Dir::State::Lists=${lists}`,
    '-o', `Dir::Cache=${cache}`, '-o', 'APT::Sandbox::User=root', '-o', 'Debug::NoLocking=1',
  ];
  const stamp = path.join(dir, 'updated');
  const fresh = fs.existsSync(stamp) && fs.readFileSync(sources, 'utf8') === text && Date.now() - fs.statSync(stamp).mtimeMs < 86400e3;
  if (!fresh) {
    fs.writeFileSync(sources, text);
    log('apt-get update (private lists: bookworm, -updates, -security, -backports)');
    run('apt-get', [...opts, 'update'], { what: 'apt-get update (private)' });
    fs.writeFileSync(stamp, new Date().toISOString());
  }
  return opts;
}

/** Download packages ("name" or "name/suite") into `dir` (skipping ones already there); returns the .deb paths. */
export function aptDownload(aptOpts: string[], names: string[], dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const have = () => fs.readdirSync(dir).filter((f) => f.endsWith('.deb'));
  const find = (n: string) => have().find((f) => f.startsWith(`${n.split('/')[0]}_`));
  const need = names.filter((n) => !find(n));
  if (need.length) run('apt-get', [...aptOpts, 'download', ...need], { cwd: dir, what: `apt-get download ${need.join(' ')}` });
  return names.map((n) => {
    const f = find(n);
    if (!f) throw new LabError(`apt-get download ${n}: no .deb in ${dir}`);
    return path.join(dir, f);
  });
}

/** Does the private apt know this package? */
export function aptHas(aptOpts: string[], name: string): boolean {
  const r = spawnSync('apt-cache', [...aptOpts, 'show', '--no-all-versions', name], { encoding: 'utf8' });
  return r.status === 0 && /^Package:/m.test(r.stdout);
}

/** The packages a .deb depends on (names only, alternatives dropped). */
export function debDepends(deb: string): string[] {
  const dep = run('dpkg-deb', ['-f', deb, 'Depends']).trim();
  return dep ? dep.split(',').map((d) => d.split('|')[0]!.trim().split(/\s/)[0]!).filter(Boolean) : [];
}

export type Accel = 'kvm' | 'tcg';

// The probe guest: a boot sector that writes "K\n" to COM1 and halts (mov dx,0x3f8; mov al,'K';
// out dx,al; mov al,10; out dx,al; cli; hlt; jmp $-1). If it prints under an accelerator, that
// accelerator runs guests on this machine.
const PROBE_CODE = [0xba, 0xf8, 0x03, 0xb0, 0x4b, 0xee, 0xb0, 0x0a, 0xee, 0xfa, 0xf4, 0xeb, 0xfd];

function probeGuest(dir: string): string {
  const f = path.join(dir, 'accel-probe.img');
  const b = Buffer.alloc(512);
  Buffer.from(PROBE_CODE).copy(b);
  b[510] = 0x55;
  b[511] = 0xaa;
  fs.writeFileSync(f, b);
  return f;
}

/** A probe's answer; `unknown`: QEMU itself could not be started, so nothing was learnt about the accelerator. */
export interface ProbeResult {
  ok: boolean;
  reason: string | null;
  unknown?: boolean;
}

/**
 * Boot a probe guest under one accelerator: did it print within the time? The reason when not.
 * Without `kernel`, the boot sector above; with it, that Linux kernel with an early console, which
 * must reach "Linux version" — a line printed only once the kernel has decompressed itself and
 * entered 64-bit code. The boot sector alone is not enough: a nested KVM was seen (2026-12) that
 * runs it and a kernel's real-mode setup ("Probing EDD ... ok") and then nothing, forever.
 */
export async function probeAccel(accel: Accel, dir: string, timeoutMs = 8000, kernel?: string): Promise<ProbeResult> {
  fs.mkdirSync(dir, { recursive: true });
  const guest = kernel
    ? ['-m', '256', '-kernel', kernel, '-append', 'console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1']
    : ['-m', '16', '-drive', `file=${probeGuest(dir)},format=raw,if=ide`];
  const want = kernel ? 'Linux version' : 'K';
  const p = spawn('qemu-system-x86_64', ['-accel', accel, '-nodefaults', '-display', 'none', '-no-reboot', '-monitor', 'none', ...guest, '-serial', 'stdio'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let spawnError: string | null = null;
  p.stdout!.on('data', (b: Buffer) => (out += b.toString('latin1')));
  p.stderr!.on('data', (b: Buffer) => (err += b.toString('latin1')));
  const ok = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    p.stdout!.on('data', () => out.includes(want) && (clearTimeout(t), resolve(true)));
    p.once('error', (e) => ((spawnError = `qemu-system-x86_64 did not start: ${e.message}`), clearTimeout(t), resolve(false)));
    p.once('exit', () => (clearTimeout(t), resolve(out.includes(want))));
  });
  p.kill('SIGKILL');
  if (ok) return { ok, reason: null };
  if (spawnError) return { ok, reason: spawnError, unknown: true };
  const said = err.split('\n').map((l) => l.trim()).filter((l) => l && !/^qemu-system-x86_64: warning:/.test(l)).pop();
  const last = out.split('\n').map((l) => l.trim()).filter(Boolean).pop();
  const what = kernel ? `${path.basename(kernel)} did not reach "Linux version" within ${timeoutMs / 1000} s${last ? ` (last line: ${JSON.stringify(last.slice(0, 80))})` : ''}` : `the probe guest printed nothing within ${timeoutMs / 1000} s`;
  return { ok, reason: said ? said.slice(0, 200) : what };
}

/**
 * The accelerator for lab guests: KVM only when a guest really runs under it. A /dev/kvm that
 * exists is not enough (nested virtualization switched off, a device node without a module): a
 * guest there prints nothing and every run times out. The probe boots a boot sector, then (given
 * `kernel`) the guest kernel itself. The answer is cached per machine (host name, host kernel, the
 * device's identity) and guest kernel in `cacheDir`; a refusal falls back to TCG with a notice.
 */
export async function chooseAccel(cacheDir: string, opts: { device?: string; kernel?: string; notice?: (s: string) => void; probe?: (a: Accel) => Promise<ProbeResult> } = {}): Promise<Accel> {
  const device = opts.device ?? '/dev/kvm';
  const notice = opts.notice ?? (() => undefined);
  if (!fs.existsSync(device)) return 'tcg';
  const st = fs.statSync(device);
  // The guest kernel is part of the key: the kernel stage of the probe is what decides.
  const key = JSON.stringify({ host: os.hostname(), kernel: os.release(), device, rdev: st.rdev, ino: st.ino, guest: opts.kernel ? path.basename(opts.kernel) : null });
  const file = path.join(cacheDir, 'accel.json');
  // One answer per key (machine, device, guest kernel), so a build over two kernels probes each once.
  type Answer = { accel: Accel; reason: string | null; at: string };
  let answers: Record<string, Answer> = {};
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as { answers?: Record<string, Answer> };
    if (c && typeof c.answers === 'object' && c.answers) answers = c.answers;
  } catch {
    // No answer cached yet (or an unreadable file): probe.
  }
  const c = answers[key];
  if (c && (c.accel === 'kvm' || c.accel === 'tcg')) {
    if (c.accel === 'tcg') notice(`${device} exists but KVM did not run a guest here (${c.reason}; cached in ${file}): using TCG`);
    return c.accel;
  }
  const r = await (opts.probe ?? (async (a: Accel) => {
    const boot = await probeAccel(a, cacheDir);
    // Under KVM a kernel that works decompresses and prints in about a second; 20 s is generous.
    return boot.ok && opts.kernel ? probeAccel(a, cacheDir, 20000, opts.kernel) : boot;
  }))('kvm');
  const accel: Accel = r.ok ? 'kvm' : 'tcg';
  if (!r.ok) notice(`${device} exists but KVM did not run a guest here (${r.reason}): using TCG`);
  // QEMU missing says nothing about KVM: not cached, probed again next time.
  if (r.unknown) return accel;
  fs.mkdirSync(cacheDir, { recursive: true });
  answers[key] = { accel, reason: r.reason, at: new Date().toISOString() };
  fs.writeFileSync(file, JSON.stringify({ answers }, null, 1) + '\n');
  return accel;
}
