// The two kernel log formats on hand-built buffers: the lockless ring
// (tail..head, data-less and wrapped blocks, reused descriptors) and the
// 3.5–5.9 log_buf (variable-length records, wrap marker).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLegacy, decodeLockless, formatTimestamp, type LocklessLayout } from '../../src/kernel/printk.js';
import { renderLogRecord } from '../../src/commands/log.js';

// Layout of Linux 6.1 as its VMCOREINFO states it.
const L: LocklessLayout = {
  descSize: 24, descStateVar: 0, descTextBlkLpos: 8, lposBegin: 0, lposNext: 8,
  infoSize: 88, infoSeq: 0, infoTsNsec: 8, infoTextLen: 16, infoCallerId: 20,
  bitfields: { facility: [18, 0, 8], flags: [19, 0, 5], level: [19, 5, 3] },
};
const COMMITTED = 1n << 62n;
const REUSABLE = 3n << 62n;

function ring(count: number, size: number) {
  const descs = Buffer.alloc(count * 24);
  const infos = Buffer.alloc(count * 88);
  const data = Buffer.alloc(size);
  const put = (id: bigint, state: bigint, begin: bigint, next: bigint, seq: number, ts: bigint, text: string, level: number, caller: number) => {
    const i = Number(id % BigInt(count));
    descs.writeBigUInt64LE(state | id, i * 24);
    descs.writeBigUInt64LE(begin, i * 24 + 8);
    descs.writeBigUInt64LE(next, i * 24 + 16);
    infos.writeBigUInt64LE(BigInt(seq), i * 88);
    infos.writeBigUInt64LE(ts, i * 88 + 8);
    infos.writeUInt16LE(text.length, i * 88 + 16);
    infos[i * 88 + 19] = (level << 5) | 2;
    infos.writeUInt32LE(caller, i * 88 + 20);
    if ((begin & 1n) === 0n && begin !== next) {
      let b = Number(begin % BigInt(size));
      if (b > Number(next % BigInt(size))) b = 0;
      data.writeBigUInt64LE(id, b);
      data.write(text, b + 8, 'latin1');
    }
  };
  return { descs, infos, data, put };
}

test('lockless ring: records from tail to head; data-less, wrapped and reused descriptors handled', () => {
  const r = ring(4, 64);
  r.put(4n, REUSABLE, 0n, 0n, 0, 0n, '', 0, 0); // recycled slot: skipped
  r.put(5n, COMMITTED, 64n + 16n, 64n + 32n, 11, 1_500_000_000n, 'world!', 6, 1);
  r.put(6n, COMMITTED, 1n, 1n, 12, 1_600_000_000n, '', 4, 0x80000001); // data-less
  r.put(7n, 2n << 62n, 64n + 56n, 128n + 16n, 13, 17_852_194_000n, 'wrapped!', 0, 28); // finalized, wraps
  const recs = decodeLockless(L, r.descs, r.infos, r.data, 5n, 7n);
  assert.deepEqual(recs.map((x) => [x.seq, x.text, x.level, x.caller]), [
    [11, 'world!', 6, 'T1'],
    [12, '', 4, 'C1'],
    [13, 'wrapped!', 0, 'T28'],
  ]);
  assert.equal(renderLogRecord(recs[2]!), '[   17.852194] wrapped!');
  assert.equal(renderLogRecord(recs[0]!, { level: true }), '[    1.500000] <6>world!');
  assert.equal(renderLogRecord({ ...recs[0]!, text: 'a\nb' }), '[    1.500000] a\n               b');
});

test('lockless ring: a torn ring (head never reached) stops after one pass and says so', () => {
  const r = ring(4, 64);
  for (let id = 0n; id < 4n; id++) r.put(id, COMMITTED, 1n, 1n, Number(id), 0n, '', 6, 0);
  const problems: string[] = [];
  const recs = decodeLockless(L, r.descs, r.infos, r.data, 0n, 99n, problems);
  assert.ok(recs.length <= 5);
  assert.match(problems.join(), /head id not reached/);
});

test('legacy log_buf: records in order across the wrap marker', () => {
  const hdr = 16;
  const rec = (ts: bigint, text: string, level: number) => {
    const len = (hdr + text.length + 7) & ~7;
    const b = Buffer.alloc(len);
    b.writeBigUInt64LE(ts, 0);
    b.writeUInt16LE(len, 8);
    b.writeUInt16LE(text.length, 10);
    b[15] = (level << 5) | 2;
    b.write(text, hdr, 'latin1');
    return b;
  };
  const a = rec(1_000_000n, 'first', 6);
  const c = rec(3_000_000n, 'third', 3);
  const buf = Buffer.alloc(128);
  c.copy(buf, 0); // after the wrap
  const firstIdx = 64;
  a.copy(buf, firstIdx);
  const b2 = rec(2_000_000n, 'second', 4);
  b2.copy(buf, firstIdx + a.length);
  // buf[firstIdx + a.length + b2.length ..] has len 0: the wrap marker.
  const recs = decodeLegacy(buf, firstIdx, c.length, { hdrSize: hdr, tsNsec: 0, len: 8, textLen: 10 });
  assert.deepEqual(recs.map((r) => [r.text, r.level]), [['first', 6], ['second', 4], ['third', 3]]);
  assert.equal(formatTimestamp(recs[2]!.tsNsec), '[    0.003000]');
});
