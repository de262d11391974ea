// `vaat eval --ablate-names` on the seven shared dumps: no name a scenario
// chose survives — the module's function names (crash's bt shows them with
// "[labcrash]"), the lock names and the task names crash's ps lists for the
// module's threads — while the kernel's own frames (the mechanism) stay
// exactly as the signature had them, and the document still validates.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtures, fixture, openFixture } from '../helpers/fixtures.js';
import { signatureFromDump, validateSignature } from '../../features/signature.js';
import { ablateNames, PLACEHOLDER } from '../../src/similarity/eval/ablate.js';
import { viewOf } from '../../src/similarity/view.js';

/** Function names crash's foreach bt shows in a module ("#3 [...] lab_holder at ... [labcrash]"). */
function crashModuleFunctions(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^\s*#\d+ \[[0-9a-f]+\] (\S+) at [0-9a-f]+ \[(\w+)\]/gm)) out.add(m[1]!);
  return out;
}

/** COMMs crash's ps lists that a scenario chose (the lab module's threads). */
function crashLabComms(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\s(labcrash[\w-]*)\s*$/gm)) out.add(m[1]!);
  return out;
}

test('ablated signatures of the shared dumps: no module function, lock or lab task name left; kernel frames and holder primitives kept', () => {
  let fns = 0;
  for (const f of fixtures()) {
    const sig = signatureFromDump(openFixture(f.name), f.dumpPath);
    const ab = ablateNames(sig);
    validateSignature(ab);
    const text = JSON.stringify(viewOf(ab)) + JSON.stringify(ab.panic);
    for (const fn of crashModuleFunctions(f.crash('foreach-bt'))) {
      fns++;
      assert.ok(!new RegExp(`\\b${fn}\\b`).test(text), `${f.name}: ${fn} survives`);
    }
    for (const comm of crashLabComms(f.crash('ps'))) assert.ok(!text.includes(comm), `${f.name}: ${comm} survives`);
    for (const l of ab.locks?.locks ?? []) assert.ok(l.name === null || l.name === PLACEHOLDER.lock, `${f.name}: lock ${l.name}`);
    // Kernel frames are the mechanism: unchanged, in place.
    const kernel = (fr: string[]) => fr.filter((x) => !/\[\w+\]$/.test(x));
    assert.deepEqual(kernel(ab.panic?.frames ?? []), kernel(sig.panic?.frames ?? []), f.name);
    (ab.locks?.locks ?? []).forEach((l, i) => assert.deepEqual(kernel(l.holder?.frames ?? []), kernel(sig.locks!.locks[i]!.holder?.frames ?? []), f.name));
  }
  assert.ok(fns >= 3, `crash showed ${fns} module functions across the dumps`);
  // The hung dump's holder: the name is gone, the primitive crash shows above it stays.
  const hung = ablateNames(signatureFromDump(openFixture('hung'), fixture('hung').dumpPath));
  assert.deepEqual(hung.locks!.locks[0]!.holder!.frames.slice(0, 2), ['schedule_timeout', `${PLACEHOLDER.fn} [labcrash]`]);
});
