// One lab run: boot the kernel under QEMU with the scenario and its
// variation on the command line, let it crash, and collect the dump —
// through QEMU's dump-guest-memory after pvpanic paused the guest (QMP
// path), or from the raw disk the capture kernel's makedumpfile wrote
// (in-guest kdump path) — with the console log and timings.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import { Qmp } from './qmp.js';
import { run, which, LabError, type Accel } from './host.js';
import type { LabKernel } from './kernel.js';

export interface Variation {
  /** Stable id of this variation ("r0-2cpu-384m-kdump-lzo-..."). */
  id: string;
  run: number;
  seed: number;
  cpus: number;
  memMiB: number;
  capture: 'kdump' | 'qmp';
  /** kdump path: makedumpfile -c (zlib), -l (lzo) or -z (zstd, with trixie's 1.7.6); QMP path: elf or kdump-zlib. */
  compression: 'zlib' | 'lzo' | 'zstd' | 'none';
  idle: number;
  busy: number;
  cgroups: number;
  /** Sleeping kernel threads started as noise. */
  sleepers: number;
  /** Shell loops that fork and exit short-lived processes (process churn). */
  churn: number;
  /** Loops that write, read back and delete a 16 MiB file on tmpfs (page-cache churn). */
  fsload: number;
  delayMs: number;
  nr: number;
  site: number;
  /** Names drawn for this run (datasets/lab/names.json), passed to labcrash and the guest's init. */
  names: LabNames;
}

export interface LabNames {
  /** The scenario's lock (from the pool of its lock type) and a second, different mutex. */
  lock: string;
  lock2: string;
  /** Functions the scenario's threads run (holder / actor, waiters / others, a third task). */
  fn: string;
  fn2: string;
  fn3: string;
  /** Their thread names. */
  comm: string;
  comm2: string;
  comm3: string;
  /** The cgroup (under the cgroup2 root) a throttled holder runs in. */
  cgroup: string;
}

export interface RunResult {
  ok: boolean;
  /** Why the run is not usable, when it is not. */
  reason: string | null;
  dump: string | null;
  format: 'kdump-compressed' | 'elf' | null;
  console: string;
  /** Seconds from QEMU start to the panic (GUEST_PANICKED, or the capture kernel's start). */
  bootToPanicS: number | null;
  wallS: number;
  /** The capture path actually used (a kdump run whose kexec failed falls back to QMP). */
  capture: 'kdump' | 'qmp' | 'qmp-fallback';
  timedOut: boolean;
}

function qemuArgs(k: LabKernel, initrd: string, v: Variation, scenario: string, dumpLevel: number, dir: string, sock: string, accel: Accel): string[] {
  const append = [
    'console=ttyS0', 'panic=0', `lab.scenario=${scenario}`, `lab.mode=${v.capture}`, `lab.nr=${v.nr}`, `lab.site=${v.site}`,
    `lab.idle=${v.idle}`, `lab.busy=${v.busy}`, `lab.cgroups=${v.cgroups}`, `lab.sleepers=${v.sleepers}`, `lab.churn=${v.churn}`, `lab.fsload=${v.fsload}`, `lab.delay=${v.delayMs}`,
    // labcrash's name parameters, comma-separated (the init splits them); names hold no spaces or commas.
    `lab.mod=${(['lock', 'lock2', 'fn', 'fn2', 'fn3', 'comm', 'comm2', 'comm3'] as const).map((k) => `${k}=${v.names[k]}`).join(',')}`,
    `lab.cg=${v.names.cgroup}`,
  ];
  if (v.capture === 'kdump') {
    const opt = { zlib: '-c', lzo: '-l', zstd: '-z', none: '-c' }[v.compression];
    // zstd needs 1.7.6, which also keeps 6.12's slab pages at -d 31.
    const mdf = v.compression === 'zstd' ? '1.7.6' : '1.7.2';
    append.push(`lab.dumpopt=${opt}`, `lab.dumplevel=${mdf === '1.7.6' ? 31 : dumpLevel}`, `lab.mdf=${mdf}`, 'crashkernel=128M');
  }
  const args = [
    '-accel', accel,
    '-m', `${v.memMiB}M`, '-smp', String(v.cpus), '-nodefaults', '-display', 'none', '-no-reboot',
    '-action', 'panic=pause', '-kernel', k.vmlinuz, '-initrd', initrd,
    '-serial', `file:${path.join(dir, 'console.log')}`,
    '-device', 'vmcoreinfo', '-device', 'pvpanic',
    '-qmp', `unix:${sock},server=on,wait=off`,
    '-pidfile', path.join(dir, 'qemu.pid'),
    '-append', append.join(' '),
  ];
  if (v.capture === 'kdump') args.push('-drive', `file=${path.join(dir, 'dumpdisk.raw')},format=raw,if=virtio`);
  return args;
}

function exited(p: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onExit = () => {
      clearTimeout(t);
      resolve(true);
    };
    const t = setTimeout(() => {
      p.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    p.once('exit', onExit);
  });
}

/** Does the console show the run went as planned: init up, trigger fired, then a crash? */
export function checkConsole(text: string): string | null {
  const up = text.indexOf('LAB: init up');
  const trig = text.indexOf('LAB: trigger');
  // An oops with panic_on_oops and kdump loaded goes straight to the capture kernel: no "Kernel panic" line.
  const crash = text.search(/Kernel panic - not syncing|BUG: |kernel BUG at|Oops: |invalid opcode: |general protection fault|divide error: |watchdog: BUG|INFO: task .* blocked|rcu: INFO|list_(?:add|del) corruption/);
  if (up < 0) return 'the guest /init never started';
  if (trig < 0) return 'the scenario was never triggered';
  if (crash < 0) return 'no crash on the console';
  if (crash < up) return 'the kernel crashed before the lab started (spurious boot-time oops)';
  return null;
}

export async function runScenario(k: LabKernel, initrd: string, scenario: string, v: Variation, timeoutS: number, dir: string, accel: Accel = 'tcg'): Promise<RunResult> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const consolePath = path.join(dir, 'console.log');
  if (v.capture === 'kdump') {
    // A sparse 1 GiB disk for makedumpfile -F to write the flattened dump to.
    const fd = fs.openSync(path.join(dir, 'dumpdisk.raw'), 'w');
    fs.ftruncateSync(fd, 1 << 30);
    fs.closeSync(fd);
  }
  const qlog = fs.openSync(path.join(dir, 'qemu.log'), 'w');
  // setpriv --pdeathsig (util-linux, essential on Debian): QEMU dies with the lab when the lab is
  // killed, instead of writing on into a run directory the resumed lab is about to clear.
  // The QMP socket lives in a short temporary directory: a unix socket path holds at most 107 bytes,
  // which a deep output directory exceeds.
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaat-qmp-'));
  const sock = path.join(sockDir, 'qmp.sock');
  const qargs = ['qemu-system-x86_64', ...qemuArgs(k, initrd, v, scenario, k.dumpLevel, dir, sock, accel)];
  const argv = which('setpriv') ? ['setpriv', '--pdeathsig', 'KILL', '--', ...qargs] : qargs;
  const qemu = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', qlog, qlog] });
  const qmp = new Qmp();
  const result: RunResult = { ok: false, reason: null, dump: null, format: null, console: consolePath, bootToPanicS: null, wallS: 0, capture: v.capture, timedOut: false };
  try {
    await qmp.connect(sock, 20000);
    if (v.capture === 'qmp') {
      const ev = await qmp.waitEvent('GUEST_PANICKED', timeoutS * 1000);
      if (ev) result.bootToPanicS = (Date.now() - t0) / 1000;
      else {
        // No panic in time: stop the VM and dump what it was doing anyway.
        result.timedOut = true;
        await qmp.execute('stop');
      }
      await qmpDump(qmp, v, dir, result);
    } else {
      // kdump: the capture kernel writes the dump and powers off; if kexec failed, pvpanic pauses the guest.
      const deadline = Date.now() + timeoutS * 1000 + 120000;
      let fellBack = false;
      while (Date.now() < deadline) {
        if (await exited(qemu, 500)) break;
        // When the crash reaches the console: the kdump path's "boot to panic".
        if (result.bootToPanicS === null && fs.existsSync(consolePath) && /Kernel panic - not syncing|Oops: |LAB: capture kernel up/.test(fs.readFileSync(consolePath, 'latin1'))) {
          result.bootToPanicS = (Date.now() - t0) / 1000;
        }
        if (qmp.events.some((e) => e.event === 'GUEST_PANICKED')) {
          result.capture = 'qmp-fallback';
          result.bootToPanicS = (Date.now() - t0) / 1000;
          await qmpDump(qmp, v, dir, result);
          fellBack = true;
          break;
        }
      }
      if (!fellBack) {
        if (qemu.exitCode === null) {
          result.timedOut = true;
          qemu.kill('SIGKILL');
        }
        const con = fs.existsSync(consolePath) ? fs.readFileSync(consolePath, 'latin1') : '';
        const cap = con.indexOf('LAB: capture kernel up');
        const out = path.join(dir, 'vmcore.kdump');
        if (/LAB: dump written/.test(con)) {
          // Rearrange the flattened stream into a kdump-compressed file (trailing zeros are ignored).
          run('sh', ['-c', `makedumpfile -R "${out}" < "${path.join(dir, 'dumpdisk.raw')}"`], { what: 'makedumpfile -R' });
          result.dump = out;
          result.format = 'kdump-compressed';
        } else result.reason = /LAB: makedumpfile failed/.test(con) ? 'makedumpfile failed in the capture kernel' : cap >= 0 ? 'the capture kernel wrote no dump' : 'the capture kernel never started';
      }
    }
    if (v.capture === 'qmp' || result.capture === 'qmp-fallback') await qmp.execute('quit').catch(() => undefined);
  } catch (e) {
    result.reason = (e as Error).message;
  } finally {
    qmp.close();
    if (!(await exited(qemu, 5000))) qemu.kill('SIGKILL');
    fs.closeSync(qlog);
    fs.rmSync(path.join(dir, 'dumpdisk.raw'), { force: true });
    fs.rmSync(sockDir, { recursive: true, force: true });
    fs.rmSync(path.join(dir, 'qemu.pid'), { force: true });
  }
  result.wallS = (Date.now() - t0) / 1000;
  const con = fs.existsSync(consolePath) ? fs.readFileSync(consolePath, 'latin1') : '';
  result.reason ??= checkConsole(con);
  if (result.timedOut) result.reason ??= `no panic within ${timeoutS} s`;
  result.ok = result.reason === null && result.dump !== null;
  return result;
}

async function qmpDump(qmp: Qmp, v: Variation, dir: string, result: RunResult): Promise<void> {
  if (v.compression === 'none' || v.capture === 'kdump') {
    const out = path.join(dir, 'vmcore.elf');
    await qmp.execute('dump-guest-memory', { paging: false, protocol: `file:${out}`, format: 'elf' });
    result.dump = out;
    result.format = 'elf';
  } else {
    const flat = path.join(dir, 'vmcore.flat');
    const out = path.join(dir, 'vmcore.kdump');
    await qmp.execute('dump-guest-memory', { paging: false, protocol: `file:${flat}`, format: 'kdump-zlib' });
    // QEMU writes kdump-* flattened; rearrange it like the kdump path's files.
    run('sh', ['-c', `makedumpfile -R "${out}" < "${flat}"`], { what: 'makedumpfile -R' });
    fs.rmSync(flat, { force: true });
    result.dump = out;
    result.format = 'kdump-compressed';
  }
  if (!fs.existsSync(result.dump!) || fs.statSync(result.dump!).size === 0) throw new LabError(`dump-guest-memory wrote no ${result.dump}`);
}
