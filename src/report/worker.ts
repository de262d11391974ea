// A report worker thread: reads one dump at a time and writes its report.
import { parentPort } from 'node:worker_threads';
import { reportDump } from './sections.js';
import { writeDumpReport, type Job } from './output.js';

parentPort!.on('message', (job: Job) => {
  try {
    const r = reportDump(job.path, job.name, job.options);
    writeDumpReport(job, r);
    parentPort!.postMessage({ id: job.id, ok: true, summary: { dump: r.dump, kernel: r.kernel, panic: r.panic, seconds: r.seconds, problems: r.problems, error: r.error ?? null } });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, ok: false, summary: { dump: job.name, kernel: null, panic: null, seconds: 0, problems: 0, error: (e as Error).message } });
  }
});
