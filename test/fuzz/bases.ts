// What the fuzz campaigns mutate: the seven shared dumps (every container
// format; the zstd-stored ELF decompressed) and console reports drawn from
// both corpora. Re-exports the harness for the campaign script.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { materialize } from '../../src/util/zst.js';
import { loadSyzbotReports } from '../../datasets/syzbot.js';
import { rng, type Base } from './harness.js';

export { runCampaign, renderCampaign } from './harness.js';

export function fuzzBases(shared: string, seed: number, logsPerCorpus: number): Base[] {
  const r = rng(seed ^ 0x5eed);
  const bases: Base[] = [];
  const kdir = path.join(shared, 'vmcores', '6.1.0-56-amd64');
  for (const d of fs.readdirSync(kdir).sort()) {
    const meta = path.join(kdir, d, 'meta.json');
    if (!fs.existsSync(meta)) continue;
    const m = JSON.parse(fs.readFileSync(meta, 'utf8')) as { dump: string };
    bases.push({ name: `dump:${d}`, kind: 'dump', bytes: fs.readFileSync(materialize(path.join(kdir, d, m.dump))) });
  }
  const syzk = path.join(shared, 'corpora', 'syzkaller-report-dev', 'report');
  const files = fs.readdirSync(syzk).sort((a, b) => Number(a) - Number(b));
  for (let i = 0; i < logsPerCorpus; i++) {
    const f = files[Math.floor(r() * files.length)]!;
    const raw = fs.readFileSync(path.join(syzk, f), 'latin1');
    bases.push({ name: `syzkaller:${f}`, kind: 'log', bytes: Buffer.from(raw.slice(raw.indexOf('\n\n') + 2), 'latin1') });
  }
  const syzbot = loadSyzbotReports(path.join(shared, 'corpora', 'syzbot-clusters-dev', 'reports.jsonl'));
  for (let i = 0; i < logsPerCorpus; i++) {
    const rep = syzbot[Math.floor(r() * syzbot.length)]!;
    bases.push({ name: `syzbot:${rep.id}`, kind: 'log', bytes: Buffer.from(rep.report, 'latin1') });
  }
  return bases;
}
