// Files written whole or not at all: to NAME.part, then renamed over NAME.
// An interrupted run leaves no half-written output; a failed write (a full
// disk) leaves no .part behind either.

import * as fs from 'node:fs';

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const part = `${file}.part`;
  try {
    fs.writeFileSync(part, data);
    fs.renameSync(part, file);
  } catch (e) {
    fs.rmSync(part, { force: true });
    throw e;
  }
}
