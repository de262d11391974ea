// Signatures for scale benchmarks: the real ones (the syzbot corpus's
// reports, the shared dumps, the lab set when it is there), and variant i of
// a real one — frames swapped for frames of other reports, dropped or
// added, kernel releases moved — deterministic, each with its own hash.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { ROOT, SHARED } from './lib.mjs';

export async function realSignatures(out, lab) {
  const d = (p) => path.join(ROOT, 'dist', p);
  const { loadEvalSet } = await import(d('src/cli/eval.js'));
  const { writeSyzbotSet } = await import(d('datasets/syzbot.js'));
  const base = [];
  const syz = path.join(out, 'syzbot-set');
  writeSyzbotSet(path.join(SHARED, 'corpora', 'syzbot-clusters-dev', 'reports.jsonl'), syz);
  for (const set of [syz, path.join(SHARED, 'vmcores'), ...(lab && fs.existsSync(path.join(lab, 'manifest.json')) ? [lab] : [])]) {
    const s = await loadEvalSet(set, { jobs: 2 });
    for (const it of s.items) base.push(it.sig);
    console.error(`bench: ${s.items.length} real signatures from ${set}`);
}
  const WINDOW = JSON.parse(fs.readFileSync(path.join(ROOT, 'features', 'data', 'vector.json'), 'utf8')).panicFrames;
  const vocab = [...new Set(base.flatMap((s) => s.panic?.frames ?? []).filter((f) => !f.startsWith('<')))];

  // A deterministic generator, and variant i of a real signature.
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  function variant(sig, i) {
    const v = structuredClone(sig);
    v.source = { ...v.source, hash: crypto.createHash('sha256').update(`${sig.source.hash}:${i}`).digest('hex'), name: `v${i}-${sig.source.name}` };
    if (v.panic) {
      // Every variant differs from its base inside the frames the vector reads (the first
      // panicFrames, features/data/vector.json): one frame of that window swapped for a frame of
      // another report, then sometimes one dropped or one inserted there too. Until 2026-12-05 a
      // variant could change only frames past the window, or none: 89 % of a 1 M set then had the
      // vector of another, and the index held 113 k distinct points, not 1 M.
      const fr = [...v.panic.frames];
      const window = Math.min(fr.length, WINDOW);
      const at = () => Math.floor(rnd() * window);
      const own = [...Array(window).keys()].filter((k) => !fr[k].startsWith('<'));
      if (own.length) fr[own[Math.floor(rnd() * own.length)]] = vocab[Math.floor(rnd() * vocab.length)];
      else fr.unshift(vocab[Math.floor(rnd() * vocab.length)]);
      const r = rnd();
      if (r < 0.3 && fr.length > 3) fr.splice(at(), 1);
      else if (r < 0.5) fr.splice(at(), 0, vocab[Math.floor(rnd() * vocab.length)]);
      v.panic.frames = fr.slice(0, 48);
      v.panic.sources = null;
      if (rnd() < 0.05 && v.panic.title) v.panic.title = v.panic.title.replace(/ in (\S+)$/, ` in ${vocab[Math.floor(rnd() * vocab.length)].split(' ')[0]}`);
    }
    const m = /^(\d+)\.(\d+)(.*)$/.exec(v.source.release ?? '');
    if (m && rnd() < 0.5) v.source.release = `${m[1]}.${Math.max(0, Number(m[2]) + Math.floor(rnd() * 5) - 2)}${m[3]}`;
    return v;
}

  return { base, variant };
}
