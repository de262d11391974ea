// A worker thread that extracts signatures, one input at a time (src/report/extract.ts).
import { parentPort } from 'node:worker_threads';
import { extract, type ExtractJob } from './extract.js';

parentPort!.on('message', (m: { id: number; job: ExtractJob }) => {
  void extract(m.job).then((result) => parentPort!.postMessage({ id: m.id, result }));
});
