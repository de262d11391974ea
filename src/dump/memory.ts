// PhysicalMemory: what every container offers upward — bytes by physical
// address, with a bounded LRU cache of whole pages. Containers implement
// loadPage(); reads that cross pages are split here.

import { NotInDumpError } from './errors.js';

export type PageState = 'present' | 'excluded' | 'absent';

export interface PhysicalMemory {
  readonly pageSize: number;
  /** Read `length` bytes at physical address `paddr`. Throws a DumpReadError subclass on failure. */
  read(paddr: number, length: number): Buffer;
  /** Whether the page holding `paddr` is in the dump, excluded from it, or not RAM at all. */
  pageState(paddr: number): PageState;
  /** Physical ranges [start, end) the dump claims to describe (RAM), in ascending order. */
  ranges(): Array<[number, number]>;
  /** Cache statistics (for benchmarks). */
  readonly stats: { hits: number; misses: number };
  /**
   * The stored form of the `count` whole pages from `pfn`, read without decoding them: bytes that
   * are equal for two dumps only when those pages hold equal bytes. A kdump-compressed dump gives,
   * for each page, its compression flags, its size and its compressed bytes (decompression is a
   * function of those). null when a page is not stored plainly (absent, excluded, a damaged
   * descriptor) or when the container has nothing cheaper than the pages themselves.
   */
  storedForm?(pfn: number, count: number): Buffer | null;
}

/** An LRU map of page frame number → page bytes (Map keeps insertion order). */
export class PageCache {
  private map = new Map<number, Buffer>();
  hits = 0;
  misses = 0;
  constructor(readonly capacity: number) {}

  get(pfn: number): Buffer | undefined {
    const v = this.map.get(pfn);
    if (v !== undefined) {
      this.hits++;
      this.map.delete(pfn);
      this.map.set(pfn, v);
    } else this.misses++;
    return v;
  }

  set(pfn: number, page: Buffer): void {
    if (this.capacity <= 0) return;
    this.map.set(pfn, page);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as number;
      this.map.delete(oldest);
    }
  }

  get size(): number {
    return this.map.size;
  }
}

/** The most page bytes one storedForm() call describes (and so reads, at most). */
export const FORM_MAX = 64 << 20;

export const DEFAULT_CACHE_PAGES = 4096; // 16 MiB of 4 KiB pages

/** Base for page-granular containers. */
export abstract class PagedMemory implements PhysicalMemory {
  protected cache: PageCache;

  constructor(readonly pageSize: number, cachePages: number) {
    this.cache = new PageCache(cachePages);
  }

  get stats() {
    return { hits: this.cache.hits, misses: this.cache.misses };
  }

  /** Produce the bytes of page `pfn` (exactly pageSize) or throw. */
  protected abstract loadPage(pfn: number): Buffer;
  abstract pageState(paddr: number): PageState;
  abstract ranges(): Array<[number, number]>;

  page(pfn: number): Buffer {
    let p = this.cache.get(pfn);
    if (!p) {
      p = this.loadPage(pfn);
      this.cache.set(pfn, p);
    }
    return p;
  }

  read(paddr: number, length: number): Buffer {
    if (!(paddr >= 0) || !Number.isSafeInteger(paddr + length)) throw new NotInDumpError(paddr, 'impossible physical address');
    const ps = this.pageSize;
    const pfn = Math.floor(paddr / ps);
    const off = paddr - pfn * ps;
    if (off + length <= ps) return this.page(pfn).subarray(off, off + length);
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const a = paddr + done;
      const f = Math.floor(a / ps);
      const o = a - f * ps;
      const n = Math.min(ps - o, length - done);
      this.page(f).copy(out, done, o, o + n);
      done += n;
    }
    return out;
  }
}
