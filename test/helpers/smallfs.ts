// A small filesystem of its own, for the tests of a full disk: a tmpfs of a
// few MiB at `dir` (root may mount one; elsewhere `mounted` is false and `how`
// says why, for the test to fall back or to say what it could not check).

import * as fs from 'node:fs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export interface SmallFs {
  mounted: boolean;
  /** What the test runs on, for its diagnostic line. */
  how: string;
  /** Room again: the tmpfs remounted at `mb` MiB, its contents kept. */
  grow(mb?: number): void;
  /** Remounted read-only (`false`: writable again), its contents kept. */
  readOnly(on?: boolean): void;
  /** Unmount (lazily: a server may still hold a file open there). */
  release(): void;
}

export function mountTmpfs(dir: string, mb: number): SmallFs {
  fs.mkdirSync(dir, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { encoding: 'utf8' });
  const mounted = m.status === 0;
  return {
    mounted,
    how: mounted ? `tmpfs of ${mb} MiB` : `mount refused: ${(m.stderr || m.error?.message || '').trim()}`,
    grow(to = 256) {
      if (mounted) assert.equal(spawnSync('mount', ['-o', `remount,size=${to}m`, dir]).status, 0);
    },
    readOnly(on = true) {
      if (mounted) assert.equal(spawnSync('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, dir]).status, 0);
    },
    release() {
      if (mounted) spawnSync('umount', ['-l', dir]);
    },
  };
}
