// Temporary directories a test file makes, removed when its process exits
// (node --test runs each file in a process of its own): repeated runs must not
// fill the disk (the fleet test's databases and the PostgreSQL index caches
// took 170-250 MB a run each).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch (e) {
      // One directory that cannot go (a filesystem still mounted on it) must not keep the others.
      process.stderr.write(`test: ${d} not removed: ${(e as Error).message}\n`);
    }
  }
});

/** A new directory under the system's temp dir, gone when the process exits. */
export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
