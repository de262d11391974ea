// How much two cores give here: the same CPU-bound JavaScript work (a tight
// floating-point loop, no memory traffic, no I/O) run once alone and then
// twice at once in two processes. The speedup of the pair is the ceiling for
// any "2 jobs ≥ 1.8× one" target on this machine.
//
//   node bench/cores.mjs [--seconds 5]

import { spawn } from 'node:child_process';

const argv = process.argv.slice(2);
const secs = Number(argv[argv.indexOf('--seconds') + 1] || 5);
if (argv[0] === '--work') {
  // A fixed amount of work: iterations calibrated by the parent.
  const n = Number(argv[1]);
  let x = 0.5;
  for (let i = 0; i < n; i++) x = x * 1.0000001 + Math.sqrt(i & 1023);
  process.stdout.write(String(x > 0));
  process.exit(0);
}
const run = (n, k) => new Promise((resolve) => {
  const t = performance.now();
  let left = k;
  for (let j = 0; j < k; j++) spawn(process.execPath, [new URL(import.meta.url).pathname, '--work', String(n)], { stdio: 'ignore' }).on('exit', () => { if (--left === 0) resolve((performance.now() - t) / 1000); });
});
// Calibrate: iterations for about `secs` seconds on one core.
let n = 1e8;
const t1 = await run(n, 1);
n = Math.round((n * secs) / t1);
const best = async (k) => Math.min(await run(n, k), await run(n, k), await run(n, k));
const one = await best(1);
const two = await best(2);
console.log(`one process: ${one.toFixed(2)} s; two at once: ${two.toFixed(2)} s; the pair does 2 units in ${two.toFixed(2)} s: ${((2 * one) / two).toFixed(2)}× one`);
