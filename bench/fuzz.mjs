// A fuzz campaign against the vaat command line (the harness: test/fuzz/harness.ts).
//
//   npm run fuzz -- [--cases 10000] [--seed 1] [--jobs 2] [--timeout 60] [--heap 2048] [--out DIR]
//
// Mutated copies of the seven shared dumps (every container format) and of
// real console reports (both corpora), each run as `vaat signature --json`,
// a fifth of the dumps also as `report`, `bt -a` and `log`; prints the table
// of runs by input kind × outcome and writes the smallest reproducer of each
// distinct failure to DIR/reproducers (and DIR/summary.json).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, SHARED, VAAT } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : d;
};
const seed = Number(opt('--seed', 1));
const out = opt('--out', path.join(os.tmpdir(), `vaat-fuzz-${seed}`));
const { runCampaign, renderCampaign, fuzzBases } = await import(path.join(ROOT, 'dist', 'test', 'fuzz', 'bases.js'));
fs.mkdirSync(out, { recursive: true });
const res = await runCampaign({
  vaat: VAAT, bases: fuzzBases(SHARED, seed, 12), cases: Number(opt('--cases', 10000)), seed, jobs: Number(opt('--jobs', os.availableParallelism())),
  timeoutMs: Number(opt('--timeout', 60)) * 1000, heapMb: Number(opt('--heap', 2048)), out, progress: (l) => process.stderr.write(l + '\n'),
});
fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify(res, null, 1) + '\n');
console.log(renderCampaign(res));
console.log(`\n${res.cases} cases in ${res.seconds.toFixed(0)} s (seed ${seed}); ${res.failures.length} distinct failures; ${res.cleanErrorsWithoutOffset} clean errors name no offset or address; reproducers in ${path.join(out, 'reproducers')}`);
for (const f of res.failures) console.log(`  ${f.count}× ${f.example}`);
if (res.cleanErrorsWithoutOffsetKinds?.length) console.log(`\nclean errors that name no offset or address, by message:\n${res.cleanErrorsWithoutOffsetKinds.map((k) => `  ${k.count}× ${k.example}`).join('\n')}`);
process.exit(res.failures.length ? 1 : 0);
