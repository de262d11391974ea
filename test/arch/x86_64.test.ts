// Page-table walks on hand-built tables: 4- and 5-level, 4 KiB, 2 MiB and
// 1 GiB pages, the SME C-bit, non-present entries; and the register notes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotInDumpError } from '../../src/dump/errors.js';
import type { PhysicalMemory, PageState } from '../../src/dump/memory.js';
import { X86_64, PageNotMappedError, START_KERNEL_MAP, parsePrStatus, parseQemuCpuState } from '../../src/arch/x86_64.js';

class SparseMemory implements PhysicalMemory {
  pageSize = 4096;
  stats = { hits: 0, misses: 0 };
  pages = new Map<number, Buffer>();
  page(pa: number): Buffer {
    const pfn = Math.floor(pa / 4096);
    let p = this.pages.get(pfn);
    if (!p) this.pages.set(pfn, (p = Buffer.alloc(4096)));
    return p;
  }
  setEntry(table: number, index: number, value: bigint) {
    this.page(table).writeBigUInt64LE(value, index * 8);
  }
  read(pa: number, len: number): Buffer {
    const pfn = Math.floor(pa / 4096);
    const p = this.pages.get(pfn);
    if (!p) throw new NotInDumpError(pa);
    return p.subarray(pa % 4096, pa % 4096 + len);
  }
  pageState(pa: number): PageState { return this.pages.has(Math.floor(pa / 4096)) ? 'present' : 'absent'; }
  ranges(): Array<[number, number]> { return []; }
}

const P = 1n; // present
const PS = 0x80n; // page size (large page)
const NX = 1n << 63n;

function idx(va: bigint, shift: bigint): number {
  return Number((va >> shift) & 511n);
}

for (const level5 of [false, true]) {
  test(`${level5 ? '5' : '4'}-level walk: 4 KiB, 2 MiB and 1 GiB pages, NX and SME bits ignored, unmapped and non-canonical addresses fail`, () => {
    const mem = new SparseMemory();
    const sme = 1n << 47n;
    // swapper_pg_dir is a kernel-image address; with phys_base 0x1000000 it sits at physical 0x100000.
    const physBase = 0x1000000n;
    const swapper = START_KERNEL_MAP + 0x100000n - physBase;
    const root = 0x100000;
    const shifts = level5 ? [48n, 39n, 30n, 21n, 12n] : [39n, 30n, 21n, 12n];
    let next = 0x200000;
    const alloc = () => (next += 0x1000);
    // Map va → pa at the given leaf level (12, 21 or 30).
    const map = (va: bigint, pa: bigint, leaf: bigint) => {
      let table = root;
      for (const s of shifts) {
        if (s === leaf) {
          mem.setEntry(table, idx(va, s), pa | P | (leaf !== 12n ? PS : 0n) | NX | sme);
          return;
        }
        const existing = mem.page(table).readBigUInt64LE(idx(va, s) * 8);
        let child: number;
        if (existing & P) child = Number(existing & 0x000ffffffffff000n & ~sme);
        else {
          child = alloc();
          mem.page(child);
          mem.setEntry(table, idx(va, s), BigInt(child) | P | sme);
        }
        table = child;
      }
    };
    mem.page(root);
    const base = level5 ? 0xff11000000000000n : 0xffff888000000000n;
    map(base + 0x5000n, 0x7000n, 12n);
    map(base + 0x40000000n, 0x80000000n, 30n); // 1 GiB page
    map(base + 0x80000000n + 0x200000n, 0x600000n, 21n); // 2 MiB page
    mem.page(0x7000).write('four-k', 0x123);
    mem.page(0x80000000 + 0x12345000).write('one-g', 0x678);
    mem.page(0x600000 + 0x1f000).write('two-m', 0x10);
    const x = new X86_64(mem, { physBase, swapperPgDir: swapper, level5, smeMask: sme });
    assert.equal(x.pgdPhys, root);
    assert.equal(x.translate(base + 0x5123n), 0x7123);
    assert.equal(x.read(base + 0x5123n, 6).toString(), 'four-k');
    assert.equal(x.translate(base + 0x40000000n + 0x12345678n), 0x80000000 + 0x12345678);
    assert.equal(x.read(base + 0x40000000n + 0x12345678n, 5).toString(), 'one-g');
    assert.equal(x.read(base + 0x80000000n + 0x200000n + 0x1f010n, 5).toString(), 'two-m');
    assert.throws(() => x.translate(base + 0x9000n), PageNotMappedError);
    const nonCanonical = level5 ? 0x0100000000000000n : 0x0000800000000000n;
    assert.throws(() => x.translate(nonCanonical), (e: unknown) => e instanceof PageNotMappedError && /non-canonical/.test(e.message));
    // Translations are cached: a second read does not walk again.
    const before = x.translations;
    x.translate(base + 0x5000n);
    assert.equal(x.translations, before);
    // ...and so are large pages: another 4 KiB page of a 2 MiB or 1 GiB page (both translated
    // above) does not walk again, and lands at the same offset from the large page's base.
    assert.equal(x.translate(base + 0x80000000n + 0x200000n + 0x1ff123n), 0x600000 + 0x1ff123);
    assert.equal(x.translate(base + 0x40000000n + 0x3fffe001n), 0x80000000 + 0x3fffe001);
    assert.equal(x.translations, before);
    // The neighbouring 2 MiB frame is not the cached page's: it walks and is not mapped.
    assert.throws(() => x.translate(base + 0x80000000n + 0x400000n), PageNotMappedError);
  });
}

test('NT_PRSTATUS: pid at 32, registers from 112 in user_regs_struct order', () => {
  const d = Buffer.alloc(336);
  d.writeUInt32LE(28, 32);
  d.writeBigUInt64LE(0xffffffff81234567n, 112 + 16 * 8); // rip
  d.writeBigUInt64LE(0xffffc90000123f00n, 112 + 19 * 8); // rsp
  const r = parsePrStatus(d)!;
  assert.equal(r.pid, 28);
  assert.equal(r.regs.rip, 0xffffffff81234567n);
  assert.equal(r.regs.rsp, 0xffffc90000123f00n);
  assert.equal(parsePrStatus(Buffer.alloc(100)), null);
});

test('QEMU CPU note: registers, gs base, CR3 at the QEMUCPUState v1 offsets', () => {
  const d = Buffer.alloc(440);
  d.writeUInt32LE(1, 0);
  d.writeUInt32LE(440, 4);
  d.writeBigUInt64LE(0xffffffff81000000n, 136); // rip
  d.writeBigUInt64LE(0xffff888100000000n, 152 + 4 * 24 + 16); // gs.base
  d.writeBigUInt64LE(0x1234000n, 392 + 3 * 8); // cr3
  const q = parseQemuCpuState(d)!;
  assert.equal(q.regs.rip, 0xffffffff81000000n);
  assert.equal(q.gsBase, 0xffff888100000000n);
  assert.equal(q.cr[3], 0x1234000n);
});
