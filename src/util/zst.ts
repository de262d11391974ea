// Dumps are often stored zstd-compressed (vmcore.elf.zst). A dump must be
// randomly accessible, so such a file is decompressed once into a cache
// file beside the system's temporary files (VAAT_ZST_CACHE_DIR to move it)
// and read from there. The cache is keyed by the compressed bytes, not by the
// file's name or time (a copy of the same dump must find its entry), and kept
// under VAAT_ZST_CACHE_BYTES (default 2 GiB), least recently used out first.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Decompress } from 'fzstd';
import { envBytes, fileDigest, sweep, touch } from './diskcache.js';

/** In this process: the cache file already made for a compressed file as it was (path, size, time). */
const made = new Map<string, string>();

export function cacheDir(): string {
  return process.env.VAAT_ZST_CACHE_DIR || path.join(os.tmpdir(), 'vaat-zst');
}

export function materialize(file: string): string {
  if (!file.endsWith('.zst')) return file;
  const st = fs.statSync(file);
  const dir = cacheDir();
  const seen = `${dir}|${path.resolve(file)}|${st.size}|${st.mtimeMs}`;
  const known = made.get(seen);
  if (known && fs.existsSync(known)) return known;
  fs.mkdirSync(dir, { recursive: true });
  // By content alone: the same dump under another name or in another copy is one entry.
  const out = path.join(dir, `dump-${fileDigest(file).slice(0, 32)}`);
  if (fs.existsSync(out)) {
    touch(out);
    made.set(seen, out);
    return out;
  }
  const tmp = `${out}.${process.pid}.part`;
  const fd = fs.openSync(tmp, 'w');
  try {
    const d = new Decompress((chunk) => {
      fs.writeSync(fd, chunk);
    });
    const inFd = fs.openSync(file, 'r');
    try {
      let pos = 0;
      while (pos < st.size) {
        // A fresh buffer per chunk: the decoder may keep a reference to input it has not consumed.
        const n = Math.min(1 << 20, st.size - pos);
        const buf = Buffer.allocUnsafe(n);
        fs.readSync(inFd, buf, 0, n, pos);
        pos += n;
        d.push(buf, pos >= st.size);
      }
    } finally {
      fs.closeSync(inFd);
    }
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot decompress ${file}: ${(e as Error).message}`);
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, out);
  made.set(seen, out);
  sweep(dir, { maxBytes: envBytes('VAAT_ZST_CACHE_BYTES', 2 * 2 ** 30), keep: out });
  return out;
}
