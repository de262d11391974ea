// Errors are values: helpers collect what they could not read — with the
// address and the reason — and return it next to the partial result.

import { DumpReadError, hex } from '../dump/errors.js';

export interface Problem {
  /** Where the read failed (hex), when there is an address. */
  address?: string;
  reason: string;
  /** What was being read (e.g. "task list", "cgroup /lab"). */
  context?: string;
}

export class Problems {
  readonly list: Problem[] = [];

  add(reason: string, address?: bigint | number, context?: string): void {
    if (this.list.length >= 1000) return; // a torn dump can fail everywhere; keep the report readable
    this.list.push({ reason, ...(address !== undefined ? { address: hex(address) } : {}), ...(context ? { context } : {}) });
  }

  /** Record an exception thrown by a read; rethrow anything that is not a dump/read error. */
  fromError(e: unknown, context?: string): void {
    if (e instanceof DumpReadError) this.add(e.message, e.address, context);
    else if (e instanceof ReadFault) this.add(e.message, e.address, context);
    else throw e;
  }

  get length(): number {
    return this.list.length;
  }
}

/** What the dump does not let the kernel layer do (no symbols, no log layout): one line for the user. */
export class ProgramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProgramError';
  }
}

/** Raised by the object API when memory behind an object cannot be read or makes no sense. */
export class ReadFault extends Error {
  constructor(message: string, readonly address?: bigint) {
    super(message);
    this.name = 'ReadFault';
  }
}

/** Run `f`, turning read failures into a recorded problem and `fallback`. */
export function attempt<T>(problems: Problems, context: string, f: () => T, fallback: T): T {
  try {
    return f();
  } catch (e) {
    problems.fromError(e, context);
    return fallback;
  }
}
