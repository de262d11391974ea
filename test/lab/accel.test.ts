// Which accelerator the lab's guests run under, on real QEMU: the probe guest
// must print under TCG (so its silence under KVM means something); a /dev/kvm
// that exists but cannot run a guest falls back to TCG with a notice, and the
// answer is cached; a device that runs the guest gives KVM; no device, TCG
// without probing. The "exists but broken" case is made real by pointing the
// device check at an ordinary file while QEMU, on this machine, cannot use KVM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { chooseAccel, probeAccel, ensureHostPackages } from '../../datasets/lab/host.js';
import { tempDir } from '../helpers/tmp.js';

ensureHostPackages(() => undefined);
// Independent of the probe: QEMU told to start a stopped, empty KVM machine either refuses at once
// (no usable KVM) or is still running when the timeout stops it (QEMU catches the SIGTERM and exits 0,
// so the timeout shows as ETIMEDOUT, not as a missing status).
const kvmWorks = (spawnSync('qemu-system-x86_64', ['-accel', 'kvm', '-machine', 'none', '-nodefaults', '-display', 'none', '-S', '-monitor', 'none', '-serial', 'none'], { timeout: 3000 }).error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';

test('the probe guest prints under TCG within seconds', async () => {
  const dir = tempDir('vaat-accel-');
  const r = await probeAccel('tcg', dir);
  assert.deepEqual(r, { ok: true, reason: null });
});

test('a /dev/kvm that exists but runs no guest: TCG with a notice, cached; one that runs it: KVM; none: TCG without a probe', async () => {
  const dir = tempDir('vaat-accel-');
  const fake = path.join(dir, 'kvm');
  fs.writeFileSync(fake, '');
  const notices: string[] = [];
  let probes = 0;
  const probe = async (a: 'kvm' | 'tcg') => (probes++, probeAccel(a, dir));
  const first = await chooseAccel(path.join(dir, 'cache'), { device: fake, notice: (s) => notices.push(s), probe });
  if (kvmWorks) {
    assert.equal(first, 'kvm');
  } else {
    assert.equal(first, 'tcg');
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /exists but KVM did not run a guest here \(.+\): using TCG/);
  }
  // Cached: the second call does not probe again and gives the same answer.
  const second = await chooseAccel(path.join(dir, 'cache'), { device: fake, notice: (s) => notices.push(s), probe });
  assert.equal(second, first);
  assert.equal(probes, 1);
  // A device whose probe guest prints: KVM (the probe is the real TCG one, standing in for a working KVM).
  const ok = await chooseAccel(path.join(dir, 'cache2'), { device: fake, probe: () => probeAccel('tcg', dir) });
  assert.equal(ok, 'kvm');
  // No device at all: TCG, no probe.
  const none = await chooseAccel(path.join(dir, 'cache3'), { device: path.join(dir, 'absent'), probe: async () => assert.fail('probed without a device') });
  assert.equal(none, 'tcg');
});

test('QEMU that cannot start says nothing about KVM: TCG for this run with the reason, nothing cached', async () => {
  const dir = tempDir('vaat-accel-');
  const fake = path.join(dir, 'kvm');
  fs.writeFileSync(fake, '');
  const saved = process.env.PATH;
  const notices: string[] = [];
  let r;
  try {
    process.env.PATH = dir; // no qemu-system-x86_64 on this PATH
    r = await chooseAccel(path.join(dir, 'cache'), { device: fake, notice: (s) => notices.push(s) });
  } finally {
    process.env.PATH = saved;
  }
  assert.equal(r, 'tcg');
  assert.match(notices[0]!, /qemu-system-x86_64 did not start: .*ENOENT/);
  assert.equal(fs.existsSync(path.join(dir, 'cache', 'accel.json')), false);
});

test('the kernel stage: a guest kernel that never prints "Linux version" fails the probe with QEMU\'s reason; a boot-sector pass alone does not decide when a kernel is given', async () => {
  const dir = tempDir('vaat-accel-');
  const notKernel = path.join(dir, 'vmlinuz-garbage');
  fs.writeFileSync(notKernel, Buffer.alloc(4096, 0x90));
  const r = await probeAccel('tcg', dir, 8000, notKernel);
  assert.equal(r.ok, false);
  assert.equal(r.unknown, undefined);
  assert.ok(r.reason && r.reason.length > 0);
  // chooseAccel asks the probe with the kernel it was given; the answer is cached per guest kernel.
  const fake = path.join(dir, 'kvm');
  fs.writeFileSync(fake, '');
  const seen: string[] = [];
  const a = await chooseAccel(path.join(dir, 'cache'), { device: fake, kernel: notKernel, probe: async () => (seen.push('probe'), { ok: false, reason: 'kernel silent' }) });
  const b = await chooseAccel(path.join(dir, 'cache'), { device: fake, kernel: path.join(dir, 'vmlinuz-other'), probe: async () => (seen.push('probe'), { ok: true, reason: null }) });
  const c = await chooseAccel(path.join(dir, 'cache'), { device: fake, kernel: notKernel, probe: async () => assert.fail('probed again') });
  assert.deepEqual([a, b, c, seen.length], ['tcg', 'kvm', 'tcg', 2]);
});
