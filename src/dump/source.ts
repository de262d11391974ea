// Random access to the bytes of a dump file. Containers (ELF, kdump) read
// through a ByteSource so that the flattened format can present itself as
// the file it stands for without being rewritten.

import * as fs from 'node:fs';
import { FormatError, TruncatedDumpError } from './errors.js';

/** No structure of a dump is read in one piece larger than this (bitmaps of a 1 TiB machine are 32 MiB). */
export const MAX_READ = 256 << 20;

/**
 * Check a read against the file before anything is allocated: offsets and
 * lengths come from headers that may be damaged (2^63, negative, past the end).
 */
export function checkRead(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FormatError(`${name}: impossible read of ${length} bytes at file offset ${offset} (a damaged header field)`);
  }
  if (length > MAX_READ) throw new FormatError(`${name}: a ${length}-byte structure at file offset ${offset} is larger than any dump holds (a damaged header field)`);
  if (offset + length > size) throw new TruncatedDumpError(Math.min(offset, size), `dump file ends at ${size} bytes; needed ${length} bytes at file offset ${offset}`);
}

export interface ByteSource {
  readonly name: string;
  /** Size of the (logical) file in bytes. */
  readonly size: number;
  /** Read exactly `length` bytes at `offset`; throws TruncatedDumpError if they are not there. */
  read(offset: number, length: number): Buffer;
  close(): void;
}

export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number;

  constructor(readonly name: string) {
    // A FIFO, socket or device would block or stream: only regular files are dumps. O_NONBLOCK
    // keeps open() of a FIFO with no writer from waiting forever.
    this.fd = fs.openSync(name, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(this.fd);
    if (!st.isFile()) {
      fs.closeSync(this.fd);
      throw new FormatError(`${name}: not a regular file (${st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : 'a device'})`);
    }
    this.size = st.size;
  }

  read(offset: number, length: number): Buffer {
    checkRead(this.name, this.size, offset, length);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new TruncatedDumpError(offset + done, `dump file ends at ${this.size} bytes; needed ${length} bytes`);
      done += n;
    }
    return buf;
  }

  /** Read up to `length` bytes; fewer at end of file. */
  readSome(offset: number, length: number): Buffer {
    checkRead(this.name, Number.MAX_SAFE_INTEGER, offset, length);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === length ? buf : buf.subarray(0, done);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** A byte source over an in-memory buffer (tests, synthetic dumps). */
export class BufferSource implements ByteSource {
  readonly size: number;
  constructor(readonly name: string, private readonly buf: Buffer) {
    this.size = buf.length;
  }
  read(offset: number, length: number): Buffer {
    checkRead(this.name, this.size, offset, length);
    return this.buf.subarray(offset, offset + length);
  }
  close(): void {}
}
