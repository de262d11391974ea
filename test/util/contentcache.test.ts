// The content cache keys by the bytes themselves: equal bytes share a value,
// different bytes (or the same bytes cut differently) never do, and it stays
// within its bound.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContentCache } from '../../src/util/contentcache.js';

test('equal bytes share one value, other bytes or other cuts get their own, least recently used goes first', () => {
  const c = new ContentCache<{ n: number }>(2);
  let made = 0;
  const make = () => ({ n: ++made });
  const a = c.get([Buffer.from('abc')], make);
  assert.equal(c.get([Buffer.from('abc')], make), a, 'same bytes, same value');
  const b = c.get([Buffer.from('ab'), Buffer.from('c')], make);
  assert.notEqual(b, a, 'the same bytes cut differently are another key');
  assert.notEqual(c.get([Buffer.from('ab'), Buffer.from('d')], make), b, 'one byte differs');
  assert.equal(made, 3);
  assert.equal(c.size, 2, 'bounded');
  // 'abc' was the least recently used: dropped, made again.
  assert.notEqual(c.get([Buffer.from('abc')], make), a);
  assert.equal(made, 4);
});

test('a value whose making throws is not kept', () => {
  const c = new ContentCache<number>(2);
  assert.throws(() => c.get([Buffer.from('x')], () => { throw new Error('bad BTF'); }), /bad BTF/);
  assert.equal(c.size, 0);
  assert.equal(c.get([Buffer.from('x')], () => 7), 7);
});

test('large parts that agree at both ends but differ in the middle are different keys', () => {
  const c = new ContentCache<number>(4);
  const a = Buffer.alloc(1 << 20, 1);
  const b = Buffer.from(a);
  b[512 * 1024] = 2;
  assert.equal(c.get([a], () => 1), 1);
  assert.equal(c.get([b], () => 2), 2, 'the middle byte differs: made afresh');
  // One entry per key: the second replaced the first, so the first is made again.
  assert.equal(c.get([Buffer.from(a)], () => 3), 3);
});
