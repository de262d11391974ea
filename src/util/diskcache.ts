// Caches kept on disk between processes (decompressed dumps, extracted
// signatures) must neither grow without end nor be keyed by what a copy
// changes. A test run, a CI run or an operator copying a corpus gives every
// file a new modification time; a cache keyed by it filled a machine's disk
// with one 268 MB decompressed dump per CI run (sixteen of them in two days)
// until the next run failed with ENOSPC. So entries are keyed by content, used
// entries are touched, and each cache is swept to an age and a size.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** sha256 of a file's bytes, hex, read in 4 MiB chunks (never the whole file in memory). */
export function fileDigest(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Marks an entry as just used, so a sweep by age or size drops it last. Best effort: a read-only cache still serves. */
export function touch(file: string): void {
  const now = new Date();
  try {
    fs.utimesSync(file, now, now);
  } catch {
    /* not ours to touch: the entry is still valid */
  }
}

export interface SweepLimits {
  /** Entries not used for longer than this are removed. */
  maxAgeMs?: number;
  /** Beyond this many bytes in all, the least recently used entries are removed. */
  maxBytes?: number;
  /** Never removed by this sweep (the entry the caller is about to use). */
  keep?: string;
  /**
   * Sweep at most this often (a stamp file in the directory says when it last ran):
   * listing a directory of hundreds of thousands of entries on every call costs more than the cache saves.
   */
  everyMs?: number;
}

/** Half-written files (`NAME.PID.part`, `NAME.PID`) older than this are from a process that died. */
const STALE_PART_MS = 3_600_000;
const STAMP = '.swept';

/** Removes what the limits say from a cache directory; returns how many bytes it freed. Never throws. */
export function sweep(dir: string, limits: SweepLimits): number {
  const now = Date.now();
  const stamp = path.join(dir, STAMP);
  try {
    if (limits.everyMs !== undefined && now - fs.statSync(stamp).mtimeMs < limits.everyMs) return 0;
  } catch {
    /* never swept */
  }
  let freed = 0;
  const entries: Array<{ file: string; size: number; used: number }> = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  const remove = (file: string, size: number) => {
    try {
      fs.rmSync(file, { force: true });
      freed += size;
    } catch {
      /* another process's file we may not remove: leave it */
    }
  };
  for (const name of names) {
    if (name === STAMP) continue;
    const file = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue; // removed meanwhile by another process's sweep
    }
    if (!st.isFile() || file === limits.keep) continue;
    if (/\.\d+(\.part)?$/.test(name)) {
      if (now - st.mtimeMs > STALE_PART_MS) remove(file, st.size);
      continue;
    }
    if (limits.maxAgeMs !== undefined && now - st.mtimeMs > limits.maxAgeMs) {
      remove(file, st.size);
      continue;
    }
    entries.push({ file, size: st.size, used: st.mtimeMs });
  }
  if (limits.maxBytes !== undefined) {
    let total = entries.reduce((s, e) => s + e.size, 0);
    if (limits.keep) {
      try {
        total += fs.statSync(limits.keep).size;
      } catch {
        /* not made yet */
      }
    }
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= limits.maxBytes) break;
      remove(e.file, e.size);
      total -= e.size;
    }
  }
  try {
    fs.writeFileSync(stamp, '');
  } catch {
    /* a read-only cache is swept by whoever owns it */
  }
  return freed;
}

/** A byte count from the environment (`VAR=2G`, `512M`, `1000000`), or the default when unset or unreadable. */
export function envBytes(name: string, def: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(process.env[name] ?? '');
  if (!m) return def;
  const mult = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}
