// Example: a new "command" as a short script over the object API.
// Lists the tasks in uninterruptible sleep (D) with how long ago they last
// ran, reading everything from the dump itself.
//
//   npm run build && node dist/examples/blocked-tasks.js <dump>

import { Program } from '../src/kernel/program.js';
import { forEachTask, taskStateLetter } from '../src/helpers/tasks.js';

const dump = process.argv[2];
if (!dump) {
  console.error('usage: node dist/examples/blocked-tasks.js <dump>');
  process.exit(2);
}
const prog = Program.open(dump);
// rq->clock of the CPU a task sits on is "now" for that task (ns).
const now = (cpu: number) => prog.perCpu('runqueues', cpu).member('clock').value();
for (const task of forEachTask(prog)) {
  if (taskStateLetter(task) !== 'D') continue;
  const cpu = task.member('thread_info').member('cpu').num();
  const lastRan = task.member('sched_info').member('last_arrival').value();
  const seconds = Number(now(cpu) - lastRan) / 1e9;
  console.log(`${task.member('pid').num()}\t${task.member('comm').string()}\tblocked ${seconds.toFixed(1)} s\ton CPU ${cpu}`);
}
