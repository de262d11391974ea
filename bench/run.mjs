// All benchmarks in turn: reader (sys/log), batch report, signature.
//   npm run bench        (after `npm ci` and bench/setup.sh)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
for (const b of ['reader.mjs', 'report.mjs', 'signature.mjs']) {
  const r = spawnSync(process.execPath, [join(here, b), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
