// The lab end to end, on a fresh machine: build two scenarios from real
// Debian packages under QEMU — the hung task through the in-guest kdump
// path and sysrq through QEMU's dump-guest-memory — then read each dump
// with `vaat sys` (the lab already did, into the manifest) and check the
// signature against what the scenario did and what its console printed.
// Needs root (apt-get for qemu, busybox-static, kexec-tools, makedumpfile)
// and Debian's archive; the first run downloads about 85 MB.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { packageRoot } from '../../src/util/datafile.js';
import { Program } from '../../src/kernel/program.js';
import { buildLab, variation, scenarios, validateManifest, consolePanic, checkExpected, labStats, renderLabStats, type Manifest } from '../../datasets/lab/lab.js';
import { checkConsole } from '../../datasets/lab/run.js';
import { signatureFromDump, signatureFromConsole } from '../../features/signature.js';
import { loadLabelled } from '../../datasets/labelled.js';

const OUT = process.env.VAAT_LAB_OUT ?? path.join(packageRoot(), '.cache', 'lab-test');

test('variations are a pure function of (seed, scenario, run); both capture paths alternate', () => {
  const s = scenarios();
  assert.ok(s.length >= 20, `${s.length} scenarios`);
  const hung = s.find((x) => x.name === 'hung')!;
  assert.deepEqual(variation(hung, 3, 7, 'both', 12), variation(hung, 3, 7, 'both', 12));
  assert.notDeepEqual(variation(hung, 3, 7, 'both', 12), variation(hung, 4, 7, 'both', 12));
  assert.notEqual(variation(hung, 0, 1, 'both', 0).capture, variation(hung, 1, 1, 'both', 0).capture);
  const rq = s.find((x) => x.name === 'rqimbalance')!;
  for (let r = 0; r < 20; r++) assert.ok(variation(rq, r, 1, 'qmp', 0).cpus >= 2);
  // kdump needs room for crashkernel=128M.
  for (let r = 0; r < 20; r++) assert.ok(variation(hung, r, 1, 'kdump', 0).memMiB >= 384);
  // Names are drawn from the pools, every scenario from the same ones: over runs, a hung task and a
  // soft lockup use the same function and thread names, so no name says which scenario ran.
  const pools = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'datasets/lab/names.json'), 'utf8')) as Record<string, string[]>;
  const soft = s.find((x) => x.name === 'softlockup')!;
  const spin = s.find((x) => x.name === 'spinlockup')!;
  const seen = (sc: typeof hung, k: 'fn' | 'fn2' | 'comm') => new Set(Array.from({ length: 40 }, (_, r) => variation(sc, r, 1, 'both', 0).names[k]));
  for (const k of ['fn', 'fn2', 'comm'] as const) {
    assert.ok(seen(hung, k).size >= 5, `${k} varies`);
    assert.deepEqual([...seen(hung, k)].filter((n) => seen(soft, k).has(n)).length > 3, true, `${k} shared across scenarios`);
  }
  // The same run on two kernels draws other names (a cross-kernel twin is not found by name).
  const differ = Array.from({ length: 20 }, (_, r) => JSON.stringify(variation(hung, r, 1, 'both', 0, undefined, '6.1.0-56-amd64').names) !== JSON.stringify(variation(hung, r, 1, 'both', 0, undefined, '6.12.95+deb12-amd64').names));
  assert.ok(differ.filter(Boolean).length >= 18);
  for (let r = 0; r < 20; r++) {
    const n = variation(hung, r, 1, 'both', 0).names;
    assert.ok(pools.mutexes!.includes(n.lock) && pools.mutexes!.includes(n.lock2) && n.lock !== n.lock2);
    assert.equal(new Set([n.fn, n.fn2, n.fn3]).size, 3);
    assert.ok(n.comm.length <= 15 && pools.comms!.includes(n.comm));
    assert.ok(pools.spinlocks!.includes(variation(spin, r, 1, 'both', 0).names.lock));
  }
  // Confusable pairs and varying sites are declared.
  assert.ok(s.filter((x) => x.confusable?.length).length >= 6);
  assert.ok(s.filter((x) => x.varies).length >= 2);
});

test('console checks: a crash before the lab started is not a lab run', () => {
  assert.equal(checkConsole('LAB: init up\nLAB: trigger x\n[ 1.0] Kernel panic - not syncing: x\n'), null);
  assert.match(checkConsole('[ 0.5] BUG: kernel NULL pointer dereference\nLAB: init up\nLAB: trigger x\n')!, /before the lab started/);
  assert.match(checkConsole('LAB: init up\n')!, /never triggered/);
  // panic_on_oops with kdump loaded: the oops goes straight to the capture kernel, no panic line.
  assert.equal(checkConsole('LAB: init up\nLAB: trigger bug\n[ 7.36] kernel BUG at labcrash.c:91!\n[ 7.36] invalid opcode: 0000 [#1]\nLAB: capture kernel up\n'), null);
  assert.equal(consolePanic('[ 7.5] Kernel panic - not syncing: sysrq triggered crash\nLAB: capture kernel up\n[ 1.0] Kernel panic - not syncing: other\n'), 'sysrq triggered crash');
  // 6.12 prefixes the oops line with "Oops: ".
  assert.equal(consolePanic('[ 9.1] Oops: general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6b6b: 0000 [#1] PREEMPT SMP NOPTI\n'), 'general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6b6b: 0000 [#1] PREEMPT SMP NOPTI');
});

test('expected panics: a run counts only if it crashed the way its scenario must and vaat sys reads that panic', () => {
  const s = (n: string) => scenarios().find((x) => x.name === n)!;
  const hung = 'LAB: trigger hung\n[ 16.2] Kernel panic - not syncing: hung_task: blocked tasks\n';
  assert.equal(checkExpected(s('hung'), hung, 'Kernel panic - not syncing: hung_task: blocked tasks'), null);
  // The same console for a scenario that must soft-lock: a wrong panic.
  assert.match(checkExpected(s('softlockup'), hung, 'Kernel panic - not syncing: hung_task: blocked tasks')!, /^wrong panic: .*its panic: hung_task: blocked tasks/);
  // A crash before the trigger does not count.
  assert.match(checkExpected(s('hung'), '[ 1.0] Kernel panic - not syncing: hung_task: blocked tasks\nLAB: trigger hung\n', 'x')!, /^wrong panic/);
  // The dump must say what the console said.
  assert.match(checkExpected(s('hung'), hung, null)!, /reads no panic message/);
  assert.match(checkExpected(s('hung'), hung, 'Kernel panic - not syncing: Fatal exception')!, /where the console printed "hung_task: blocked tasks"/);
  // BUG() names the module source by the path it was built at.
  const bug = 'LAB: trigger bug\n[ 7.36] kernel BUG at /tmp/x/.lab/build/labcrash-6.1.0-56-amd64-e588c7560072/labcrash.c:94!\nLAB: capture kernel up\n';
  assert.equal(checkExpected(s('bug'), bug, 'kernel BUG at /tmp/x/.lab/build/labcrash-6.1.0-56-amd64-e588c7560072/labcrash.c:94!'), null);
  // A use-after-free shows as list corruption or as a fault on slab poison (6.12 with its "Oops: ").
  const uaf = 'LAB: trigger uaf\n[ 9.1] Oops: general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6b6b: 0000 [#1] PREEMPT SMP NOPTI\n';
  assert.equal(checkExpected(s('uaf'), uaf, 'Oops: general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6b6b: 0000 [#1] PREEMPT SMP NOPTI'), null);
  assert.throws(() => checkExpected({ ...s('hung'), panics: 'hung_task: (' }, hung, 'x'), /hung: panics is not a regular expression/);
  assert.equal(checkExpected(s('uaf'), 'LAB: trigger uaf\n[ 8.0] list_add corruption. prev->next should be next\n[ 8.1] Kernel panic - not syncing: Fatal exception\n', 'Kernel panic - not syncing: Fatal exception'), null);
});

test('lab build: hung and rwsemread through in-guest kdump and sysrq through QMP, two guests at once, read back with vaat sys and signatures', { timeout: 30 * 60 * 1000 }, async () => {
  const r = await buildLab({
    out: OUT, kernels: ['6.1'], scenarios: ['hung', 'sysrq', 'rwsemread'], runs: 1, capture: 'both', seed: 1, jobs: 2,
    log: (s) => process.stderr.write(`lab: ${s}\n`),
  });
  assert.deepEqual(r.failed, []);
  const m = JSON.parse(fs.readFileSync(path.join(OUT, 'manifest.json'), 'utf8')) as Manifest;
  validateManifest(m);
  const hung = m.entries.find((e) => e.scenario === 'hung' && e.id.includes('/r0-'))!;
  const sysrq = m.entries.find((e) => e.scenario === 'sysrq' && e.id.includes('/r0-'))!;
  const rwr = m.entries.find((e) => e.scenario === 'rwsemread' && e.id.includes('/r0-'))!;
  assert.equal(hung.capture, 'kdump');
  assert.equal(hung.format, 'kdump-compressed');
  assert.equal(sysrq.capture, 'qmp');
  for (const e of [hung, sysrq, rwr]) {
    // What vaat sys read, as the lab recorded it.
    assert.equal(e.sys.release, e.kernel);
    assert.ok((e.sys.tasks ?? 0) > 40, `${e.id}: ${e.sys.tasks} tasks`);
    assert.equal(e.sys.panic, `Kernel panic - not syncing: ${e.panic}`);
  }
  assert.equal(hung.panic, 'hung_task: blocked tasks');
  assert.equal(sysrq.panic, 'sysrq triggered crash');
  // The labelled-set loader reads the manifest.
  const set = loadLabelled(OUT);
  assert.ok(set.some((d) => d.label === hung.label && fs.existsSync(d.path)));
  // Signatures of the fresh dumps: the lock part says what the scenario did.
  const prog = Program.open(path.join(OUT, hung.path));
  const sig = signatureFromDump(prog, path.join(OUT, hung.path));
  prog.close();
  const con = fs.readFileSync(path.join(OUT, hung.console), 'latin1');
  assert.deepEqual(sig.panic, signatureFromConsole(con, 'console.log').panic);
  // The names were drawn for this run and recorded in the manifest: the waiters run fn2, the holder is comm.
  const names = hung.variation.names;
  assert.equal(sig.panic?.title, `INFO: task hung in ${names.fn2}`);
  const lk = sig.locks!.locks[0]!;
  assert.equal(lk.name, names.lock);
  assert.equal(lk.holder?.comm, names.comm);
  assert.equal(lk.holder?.pid, Number(new RegExp(`labcrash: holder (\\d+) took ${names.lock}\\b`).exec(con)![1]));
  // Waiter names are kept with their digits folded (kworker/3:1 and kworker/0:2 are one kind of waiter).
  assert.deepEqual(lk.waiterComms, [names.comm2.replace(/\d+/g, 'N')]);
  assert.equal(lk.waiters, hung.variation.nr);
  assert.equal(sig.cpu?.onlineCount, hung.variation.cpus);
  // A rwsem read-locked by one sleeping reader: its owner field names the reader, the holder the
  // console printed; the writers wait.
  const rp = Program.open(path.join(OUT, rwr.path));
  const rs = signatureFromDump(rp, path.join(OUT, rwr.path));
  rp.close();
  const rcon = fs.readFileSync(path.join(OUT, rwr.console), 'latin1');
  const rn = rwr.variation.names;
  const rl = rs.locks!.locks[0]!;
  assert.deepEqual([rl.name, rl.kind, rl.waiters], [rn.lock, 'rwsem', rwr.variation.nr]);
  assert.equal(rl.holder?.comm, rn.comm);
  // How it is held and what the waiters want, as the scenario does it (down_read by the holder,
  // down_write by every waiter): the mechanism that tells it from a writer-held rwsem.
  assert.equal(rl.held, 'read');
  assert.deepEqual(rl.waitFor, ['write']);
  assert.equal(lk.held, undefined, 'a mutex has no read/write mode');
  assert.equal(rl.holder?.pid, Number(new RegExp(`labcrash: reader (\\d+) holds ${rn.lock}\\b`).exec(rcon)![1]));
  assert.equal(rs.panic?.title, `INFO: task hung in ${rn.fn2}`);
  const sp = Program.open(path.join(OUT, sysrq.path));
  const ss = signatureFromDump(sp, path.join(OUT, sysrq.path));
  sp.close();
  assert.equal(ss.panic?.title, 'kernel panic: sysrq triggered crash');
  // What the set holds.
  const st = labStats(m);
  assert.equal(st.dumps, 3);
  assert.equal(st.labels, 3);
  assert.deepEqual(st.byCapture, { kdump: 2, qmp: 1 });
  assert.equal(st.bytes, hung.bytes + sysrq.bytes + rwr.bytes);
  // Groups are per kernel, capture, format and compression: the two kdump runs may draw different
  // compressions, so compare each group with the manifest's own runs of that kind.
  for (const g of st.groups) {
    const runs = [hung, rwr, sysrq].filter((e) => e.capture === g.capture && e.format === g.format && (e.compression ?? 'none') === (g.compression ?? 'none'));
    assert.equal(g.dumps, runs.length, `${g.capture}/${g.format}/${g.compression}`);
  }
  assert.equal(st.groups.reduce((n, g) => n + g.dumps, 0), 3);
  assert.match(renderLabStats(st), /^3 dumps, 3 root-cause labels \(2 kdump, 1 qmp\)/);
  // A second build finds both runs cached.
  const again = await buildLab({ out: OUT, kernels: ['6.1'], scenarios: ['hung', 'sysrq', 'rwsemread'], runs: 1, capture: 'both', seed: 1 });
  assert.equal(again.built, 0);
  assert.equal(again.cached, 3);
});

/** Every file under dir, relative to it, skipping the named top-level directories. */
function filesUnder(dir: string, skip: string[]): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => !skip.includes(f.split(path.sep)[0]!) && fs.statSync(path.join(dir, f)).isFile());
}

/** No such process, or only its zombie (nobody reaped it yet). */
function processGone(pid: number): boolean {
  try {
    return /^State:\s*[ZX]/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a lab killed while the capture kernel writes its dump leaves nothing half-written in the set, and resumes', { timeout: 30 * 60 * 1000 }, async () => {
  const out = `${OUT}-interrupted`;
  const cache = path.join(OUT, '.lab'); // the downloads and builds of the test above
  fs.rmSync(out, { recursive: true, force: true });
  const args = ['-o', out, '--cache', cache, '--kernels', '6.1', '--scenarios', 'panic', '--runs', '1', '--capture', 'kdump', '--seed', '3'];
  const child = spawn(process.execPath, [path.join(packageRoot(), 'bin', 'vaat.js'), 'lab', 'build', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exit = new Promise<void>((r) => child.once('exit', () => r()));
  const staging = path.join(out, '.staging');
  const consoles = () => filesUnder(staging, []).filter((f) => path.basename(f) === 'console.log');
  try {
    // A second lab on the same directory is refused while the first runs.
    await until('the lab lock', 60000, () => fs.existsSync(path.join(out, '.lab.lock')));
    await assert.rejects(buildLab({ out, cache, kernels: ['6.1'], scenarios: ['panic'], runs: 1, capture: 'kdump', seed: 3 }), /being built by another lab \(pid \d+\)/);
    // Kill it once the capture kernel is up, i.e. while makedumpfile writes the dump.
    await until('the capture kernel', 10 * 60000, () => consoles().some((f) => fs.readFileSync(path.join(staging, f), 'latin1').includes('LAB: capture kernel up')));
  } finally {
    child.kill('SIGKILL');
    await exit;
  }
  const run = path.join(staging, path.dirname(consoles()[0]!));
  const qemuPid = Number(fs.readFileSync(path.join(run, 'qemu.pid'), 'utf8'));
  // QEMU died with the lab (setpriv --pdeathsig) instead of writing on.
  await until(`QEMU ${qemuPid} to exit`, 10000, () => processGone(qemuPid));
  assert.ok(fs.existsSync(path.join(run, 'dumpdisk.raw')), 'the interrupted run was mid-dump');
  // Nothing of it is in the set: no dump outside the staging area, no manifest entry.
  assert.deepEqual(filesUnder(out, ['.staging', '.lab']).filter((f) => /vmcore|dumpdisk/.test(f)), []);
  const mpath = path.join(out, 'manifest.json');
  if (fs.existsSync(mpath)) assert.equal((JSON.parse(fs.readFileSync(mpath, 'utf8')) as Manifest).entries.length, 0);
  // Resumed: the lock of the dead lab is taken over, the staging area cleared, the run made whole.
  const r = await buildLab({ out, cache, kernels: ['6.1'], scenarios: ['panic'], runs: 1, capture: 'kdump', seed: 3, log: (s) => process.stderr.write(`lab: ${s}\n`) });
  assert.deepEqual(r.failed, []);
  assert.equal(r.built, 1);
  assert.ok(!fs.existsSync(staging));
  assert.ok(!fs.existsSync(path.join(out, '.lab.lock')));
  const m = JSON.parse(fs.readFileSync(mpath, 'utf8')) as Manifest;
  validateManifest(m);
  assert.equal(m.entries.length, 1);
  const e = m.entries[0]!;
  assert.equal(e.sys.panic, 'Kernel panic - not syncing: labcrash: deliberate panic');
  assert.equal(crypto.createHash('sha256').update(fs.readFileSync(path.join(out, e.path))).digest('hex'), e.sha256);
  assert.ok(fs.existsSync(path.join(out, e.console)));
});
