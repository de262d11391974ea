// Errors of the dump layer. Reading a vmcore fails in a handful of distinct
// ways, and callers (helpers, reports) must be able to tell them apart and
// name the address: a page makedumpfile chose not to save is not the same
// problem as an address the machine never had, a file cut short, or a page
// whose compressed bytes are damaged.

export function hex(n: number | bigint): string {
  return '0x' + (typeof n === 'bigint' ? BigInt.asUintN(64, n) : n).toString(16);
}

/** Base of every failure to read memory out of a dump. */
export class DumpReadError extends Error {
  constructor(
    readonly address: number | bigint,
    readonly reason: string,
    readonly space: 'physical' | 'virtual' | 'file' = 'physical',
  ) {
    super(`${reason} at ${space} address ${hex(address)}`);
    this.name = new.target.name;
  }
}

/** The page was RAM but the dump tool excluded it (makedumpfile -d, incomplete dump). */
export class ExcludedPageError extends DumpReadError {
  constructor(paddr: number, detail = 'page excluded from the dump') {
    super(paddr, detail);
  }
}

/** No part of the dump describes this address (a hole, or beyond the end of RAM). */
export class NotInDumpError extends DumpReadError {
  constructor(paddr: number, detail = 'address not in the dump') {
    super(paddr, detail);
  }
}

/** The dump's own headers point past the end of the file: it was cut short. */
export class TruncatedDumpError extends DumpReadError {
  constructor(fileOffset: number, detail = 'dump file truncated') {
    super(fileOffset, detail, 'file');
  }
}

/** The page is in the dump but its bytes cannot be decoded. */
export class CorruptPageError extends DumpReadError {
  constructor(paddr: number, readonly fileOffset: number, detail: string) {
    super(paddr, `corrupt page (${detail}; data at file offset ${hex(fileOffset)})`);
  }
}

/** The file is not a dump we understand (wrong magic, impossible header). */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}
