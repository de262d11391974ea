// Dumps are often stored zstd-compressed (vmcore.elf.zst). A dump must be
// randomly accessible, so such a file is decompressed once into a cache
// file beside the system's temporary files and read from there.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Decompress } from 'fzstd';

export function materialize(file: string): string {
  if (!file.endsWith('.zst')) return file;
  const st = fs.statSync(file);
  const dir = path.join(os.tmpdir(), 'vaat-zst');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `${path.basename(file, '.zst')}-${st.size}-${Math.floor(st.mtimeMs)}`);
  if (fs.existsSync(out)) return out;
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
  return out;
}
