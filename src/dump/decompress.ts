// Page decompression for kdump-compressed dumps, with maintained decoders:
// node's zlib, `lzo` (lzo1x), `snappy` (raw snappy) and `fzstd` (zstd frames).
// Flag values from makedumpfile diskdump_mod.h (DUMP_DH_COMPRESSED_*).

import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { decompress as zstdDecompress } from 'fzstd';

export const COMPRESS_ZLIB = 0x1;
export const COMPRESS_LZO = 0x2;
export const COMPRESS_SNAPPY = 0x4;
export const COMPRESS_ZSTD = 0x20;

const require = createRequire(import.meta.url);
// Loaded on first use: native modules cost start-up time, and most dumps are zlib.
let lzo: { decompress(b: Buffer, size: number): Buffer } | null = null;
let snappy: { uncompressSync(b: Buffer): Buffer | string } | null = null;

export function compressionName(flags: number): string {
  if (flags & COMPRESS_ZLIB) return 'zlib';
  if (flags & COMPRESS_LZO) return 'lzo';
  if (flags & COMPRESS_SNAPPY) return 'snappy';
  if (flags & COMPRESS_ZSTD) return 'zstd';
  return 'none';
}

/** Decompress one page; throws Error with the decoder's message on failure. */
export function decompressPage(flags: number, data: Buffer, pageSize: number): Buffer {
  let out: Buffer;
  if (flags & COMPRESS_ZLIB) {
    out = zlib.inflateSync(data, { maxOutputLength: pageSize });
  } else if (flags & COMPRESS_LZO) {
    lzo ??= require('lzo') as typeof lzo;
    out = lzo!.decompress(data, pageSize);
  } else if (flags & COMPRESS_SNAPPY) {
    snappy ??= require('snappy') as typeof snappy;
    const r = snappy!.uncompressSync(data);
    out = typeof r === 'string' ? Buffer.from(r, 'latin1') : r;
  } else if (flags & COMPRESS_ZSTD) {
    const r = zstdDecompress(data);
    out = Buffer.from(r.buffer, r.byteOffset, r.byteLength);
  } else {
    out = data;
  }
  if (out.length !== pageSize) throw new Error(`decompressed to ${out.length} bytes, expected ${pageSize}`);
  return out;
}
