// Turn a C type spelling ("struct task_struct *", "unsigned long [3]",
// "const char *[]") into a Type, from BTF first and built-in integer types
// when BTF lacks them.

import type { Btf } from './btf.js';
import { arrayOf, pointerTo, type IntType, type Type } from './types.js';

/** C spellings → the names gcc puts in DWARF/BTF. */
const INT_ALIASES: Record<string, string> = {
  'unsigned long': 'long unsigned int',
  'unsigned long int': 'long unsigned int',
  long: 'long int',
  'signed long': 'long int',
  'unsigned long long': 'long long unsigned int',
  'long long': 'long long int',
  'unsigned short': 'short unsigned int',
  short: 'short int',
  unsigned: 'unsigned int',
  signed: 'int',
  bool: '_Bool',
};

const BUILTIN_INTS: Record<string, [number, boolean]> = {
  char: [1, true], 'signed char': [1, true], 'unsigned char': [1, false],
  'short int': [2, true], 'short unsigned int': [2, false],
  int: [4, true], 'unsigned int': [4, false],
  'long int': [8, true], 'long unsigned int': [8, false],
  'long long int': [8, true], 'long long unsigned int': [8, false],
  _Bool: [1, false],
  u8: [1, false], u16: [2, false], u32: [4, false], u64: [8, false],
  s8: [1, true], s16: [2, true], s32: [4, true], s64: [8, true],
};

const builtinCache = new Map<string, IntType>();

export function builtinInt(name: string): IntType | undefined {
  const spec = BUILTIN_INTS[name];
  if (!spec) return undefined;
  let t = builtinCache.get(name);
  if (!t) {
    t = { kind: 'int', name, size: spec[0], signed: spec[1], isChar: name.includes('char'), isBool: name === '_Bool', bits: spec[0] * 8 };
    builtinCache.set(name, t);
  }
  return t;
}

export class TypeNameError extends Error {}

export function parseTypeName(spelling: string, btf: Btf | null): Type {
  let s = spelling.trim().replace(/\s+/g, ' ');
  const dims: number[] = [];
  for (;;) {
    const m = /\[\s*(\d*)\s*\]\s*$/.exec(s);
    if (!m) break;
    dims.unshift(m[1] === '' ? 0 : Number(m[1]));
    s = s.slice(0, m.index).trim();
  }
  let stars = 0;
  while (s.endsWith('*')) {
    stars++;
    s = s.slice(0, -1).trim();
  }
  s = s.replace(/^(const |volatile )+/, '').replace(/ (const|volatile)$/, '').trim();
  let base: Type | undefined;
  const tagged = /^(struct|union|enum) (\w+)$/.exec(s);
  if (tagged) {
    base = btf?.find(tagged[2]!, tagged[1] as 'struct' | 'union' | 'enum');
  } else {
    const name = INT_ALIASES[s] ?? s;
    base = btf?.find(name, 'typedef') ?? btf?.find(name, 'int') ?? btf?.find(name, 'float') ?? builtinInt(name);
  }
  if (!base) throw new TypeNameError(`unknown type: ${spelling}${btf ? '' : ' (no BTF loaded)'}`);
  let t: Type = base;
  for (let i = 0; i < stars; i++) t = pointerTo(t);
  for (let i = dims.length - 1; i >= 0; i--) t = arrayOf(t, dims[i]!);
  return t;
}
