// Random access to the bytes of a dump file. Containers (ELF, kdump) read
// through a ByteSource so that the flattened format can present itself as
// the file it stands for without being rewritten.

import * as fs from 'node:fs';
import { TruncatedDumpError } from './errors.js';

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
    this.fd = fs.openSync(name, 'r');
    this.size = fs.fstatSync(this.fd).size;
  }

  read(offset: number, length: number): Buffer {
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
    if (offset < 0 || offset + length > this.buf.length) {
      throw new TruncatedDumpError(Math.min(Math.max(offset, 0), this.buf.length), `dump ends at ${this.buf.length} bytes; needed ${length} bytes`);
    }
    return this.buf.subarray(offset, offset + length);
  }
  close(): void {}
}
