// The dump layer on synthetic files built here: every container and page
// codec, header versions, and the four distinct read failures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDumpSource } from '../../src/dump/open.js';
import { BufferSource } from '../../src/dump/source.js';
import { CorruptPageError, ExcludedPageError, FormatError, NotInDumpError, TruncatedDumpError } from '../../src/dump/errors.js';
import { buildElf, buildKdump, flatten, note, patternPage, type Compression } from '../helpers/synth.js';

const open = (b: Buffer) => openDumpSource(new BufferSource('synthetic', b), 'synthetic');

function pagesFor(pfns: number[]): Map<number, Buffer> {
  return new Map(pfns.map((p) => [p, patternPage(p)]));
}

for (const c of ['none', 'zlib', 'lzo', 'snappy'] as Compression[]) {
  test(`kdump with ${c} pages reads back every page, in place and flattened`, () => {
    const pages = pagesFor([0, 1, 2, 7, 100, 4095, 4096, 9000]);
    const file = buildKdump({ pages, maxMapnr: 10000, compression: c, vmcoreinfo: 'OSRELEASE=test\n' });
    for (const variant of [file, flatten(file, 3000), flatten(file, 1000, true)]) {
      const d = open(variant);
      assert.equal(d.info.compression, c);
      for (const [pfn, page] of pages) assert.ok(d.memory.read(pfn * 4096, 4096).equals(page), `pfn ${pfn}`);
      // A read across two pages.
      const two = d.memory.read(4096 * 1 + 4000, 200);
      assert.ok(two.equals(Buffer.concat([pages.get(1)!.subarray(4000), pages.get(2)!.subarray(0, 104)])));
      assert.equal(d.notes.find((n) => n.name === 'VMCOREINFO')?.desc.toString(), 'OSRELEASE=test\n');
    }
  });
}

test('kdump: excluded page, hole, beyond the end, incomplete page are distinct errors naming the address', () => {
  const pages = pagesFor([1, 2, 3, 5]);
  const d = open(buildKdump({ pages, excluded: [4], maxMapnr: 64, incomplete: true, unwritten: [5] }));
  assert.equal(d.memory.pageState(4 * 4096), 'excluded');
  assert.equal(d.memory.pageState(10 * 4096), 'absent');
  assert.throws(() => d.memory.read(4 * 4096 + 8, 8), (e: unknown) => e instanceof ExcludedPageError && e.address === 4 * 4096 && /excluded/.test(e.message));
  assert.throws(() => d.memory.read(10 * 4096, 8), (e: unknown) => e instanceof NotInDumpError && e.address === 10 * 4096);
  assert.throws(() => d.memory.read(1000 * 4096, 8), NotInDumpError);
  assert.throws(() => d.memory.read(5 * 4096, 8), (e: unknown) => e instanceof ExcludedPageError && /incomplete/.test(e.message));
  assert.ok(d.info.incomplete);
  assert.ok(d.problems.some((p) => /incomplete/.test(p)));
});

test('kdump: a damaged compressed page is a CorruptPageError with its file offset', () => {
  const pages = pagesFor([1, 2]);
  const file = buildKdump({ pages, maxMapnr: 64, compression: 'zlib' });
  // The page data is at the end of the file: damage the last page's bytes.
  file.fill(0xaa, file.length - 30, file.length - 2);
  const d = open(file);
  assert.ok(d.memory.read(4096, 16).equals(pages.get(1)!.subarray(0, 16)));
  assert.throws(() => d.memory.read(2 * 4096, 16), (e: unknown) => e instanceof CorruptPageError && e.address === 2 * 4096 && /zlib/.test(e.message) && /file offset 0x/.test(e.message));
});

test('kdump: a file cut short says so at open and raises TruncatedDumpError for lost pages', () => {
  const pages = pagesFor([1, 2, 3]);
  const file = buildKdump({ pages, maxMapnr: 64, compression: 'none' });
  const d = open(file.subarray(0, file.length - 4096 - 10));
  assert.ok(d.problems.some((p) => /truncated/.test(p)), d.problems.join('; '));
  assert.ok(d.memory.read(4096, 8));
  assert.throws(() => d.memory.read(3 * 4096, 8), TruncatedDumpError);
});

for (const hv of [1, 3, 4, 5, 6]) {
  test(`kdump header version ${hv} opens; VMCOREINFO found where that version keeps it`, () => {
    const file = buildKdump({ pages: pagesFor([1]), maxMapnr: 64, headerVersion: hv, vmcoreinfo: 'OSRELEASE=hv\n' });
    const d = open(file);
    assert.equal(d.info.headerVersion, hv);
    const vi = d.notes.find((n) => n.name === 'VMCOREINFO')?.desc.toString() ?? d.vmcoreinfoText;
    if (hv >= 3) assert.equal(vi, 'OSRELEASE=hv\n');
    else assert.equal(vi ?? null, null);
    assert.ok(d.memory.read(4096, 4096).equals(patternPage(1)));
  });
}

test('ELF core: segments by physical address, holes, p_filesz < p_memsz as excluded, notes', () => {
  const a = Buffer.concat([patternPage(0), patternPage(1)]);
  const b = patternPage(9);
  const prstatus = Buffer.alloc(336);
  prstatus.writeUInt32LE(1, 32);
  const notes = Buffer.concat([note('CORE', 1, prstatus), note('VMCOREINFO', 0, Buffer.from('OSRELEASE=elf\n'))]);
  for (const pnXnum of [false, true]) {
    const d = open(buildElf({ segments: [{ paddr: 0, data: a }, { paddr: 0x10000, data: b, memsz: 3 * 4096 }], notes, pnXnum }));
    assert.equal(d.info.format, 'elf');
    assert.ok(d.memory.read(4096, 4096).equals(patternPage(1)));
    assert.ok(d.memory.read(0x10000, 64).equals(b.subarray(0, 64)));
    assert.throws(() => d.memory.read(0x11000, 8), ExcludedPageError);
    assert.throws(() => d.memory.read(0x8000, 8), NotInDumpError);
    assert.deepEqual(d.notes.map((n) => n.name), ['CORE', 'VMCOREINFO']);
    assert.deepEqual(d.memory.ranges(), [[0, 0x2000], [0x10000, 0x13000]]);
  }
});

test('not a dump: empty file, text file, garbage, flattened without records', () => {
  assert.throws(() => open(Buffer.alloc(0)), (e: unknown) => e instanceof FormatError && /empty/.test(e.message));
  assert.throws(() => open(Buffer.from('hello, this is a text file\n')), (e: unknown) => e instanceof FormatError && /text file/.test(e.message));
  assert.throws(() => open(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0xff])), (e: unknown) => e instanceof FormatError && /signature/.test(e.message));
  const flatEmpty = flatten(Buffer.alloc(0));
  assert.throws(() => open(flatEmpty), FormatError);
  assert.throws(() => open(buildKdump({ pages: pagesFor([1]), maxMapnr: 64 }).subarray(0, 300)), TruncatedDumpError);
});
