// What is decoded from bytes, kept by those bytes: a fleet's dumps come from
// a handful of kernel builds, and each build's BTF and kallsyms tables are the
// same bytes in every dump of it. Decoding them once per process instead of
// once per dump is safe because the key is the content itself (not a build id
// a damaged dump could lie about): an entry is reused only when every byte is
// equal. Bounded: a few builds at a time, least recently used dropped first.

import * as crypto from 'node:crypto';

/** Bytes hashed from each end of a part to find the candidate entry; equality is then checked on every byte. */
const EDGE = 64 << 10;

interface Entry<T> {
  parts: Uint8Array[];
  value: T;
}

export class ContentCache<T> {
  private readonly map = new Map<string, Entry<T>>();

  constructor(private readonly max: number) {}

  /** The value for these bytes, made by `make` on the first request. */
  get(parts: Uint8Array[], make: () => T): T {
    const h = crypto.createHash('sha256');
    for (const p of parts) {
      // The length first: ["ab","c"] and ["a","bc"] must not share a key.
      h.update(String(p.length) + ':');
      if (p.length <= 2 * EDGE) h.update(p);
      else {
        h.update(p.subarray(0, EDGE));
        h.update(p.subarray(p.length - EDGE));
      }
    }
    const key = h.digest('hex');
    const hit = this.map.get(key);
    if (hit !== undefined && hit.parts.length === parts.length && hit.parts.every((q, i) => Buffer.compare(q, parts[i]!) === 0)) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit.value;
    }
    const value = make();
    // Copies: the caller's buffers may be views into memory it reuses.
    this.map.delete(key);
    this.map.set(key, { parts: parts.map((p) => Buffer.from(p)), value });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    return value;
  }

  get size(): number {
    return this.map.size;
  }
}
