// BTF (include/uapi/linux/btf.h), read from the kernel's own memory between
// __start_BTF and __stop_BTF. Header {u16 magic 0xeB9F; u8 version; u8
// flags; u32 hdr_len; u32 type_off, type_len, str_off, str_len}; types are
// numbered from 1 in file order, each {u32 name_off; u32 info; u32
// size_or_type} plus kind-specific data. Split BTF (modules) continues the
// numbering and the string offsets of its base.

import {
  VOID, type Type, type Member, type Enumerator, type IntType,
} from './types.js';

export const BTF_MAGIC = 0xeb9f;

const K = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export class BtfError extends Error {}

export class Btf {
  readonly typeCount: number; // types in this object (not counting the base)
  readonly firstId: number;
  readonly kindCounts = new Map<string, number>();
  private types: Buffer;
  private strs: Buffer;
  private offsets: Uint32Array;
  private cache: Array<Type | undefined>;
  private nameIndex = new Map<string, number[]>();
  private strBase: number;

  constructor(readonly data: Buffer, readonly base?: Btf) {
    if (data.length < 24 || data.readUInt16LE(0) !== BTF_MAGIC) throw new BtfError('BTF: bad magic');
    const hdrLen = data.readUInt32LE(4);
    const typeOff = data.readUInt32LE(8);
    const typeLen = data.readUInt32LE(12);
    const strOff = data.readUInt32LE(16);
    const strLen = data.readUInt32LE(20);
    if (hdrLen + typeOff + typeLen > data.length || hdrLen + strOff + strLen > data.length) {
      throw new BtfError('BTF: sections extend past the data');
    }
    this.types = data.subarray(hdrLen + typeOff, hdrLen + typeOff + typeLen);
    this.strs = data.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
    this.firstId = base ? base.firstId + base.typeCount : 1;
    this.strBase = base ? base.totalStrLen : 0;

    const offs: number[] = [];
    let p = 0;
    const t = this.types;
    const kindNames = ['?', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const', 'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64'];
    while (p + 12 <= t.length) {
      offs.push(p);
      const nameOff = t.readUInt32LE(p);
      const info = t.readUInt32LE(p + 4);
      const vlen = info & 0xffff;
      const kind = (info >>> 24) & 0x1f;
      let extra: number;
      switch (kind) {
        case K.INT: case K.VAR: case K.DECL_TAG: extra = 4; break;
        case K.ARRAY: extra = 12; break;
        case K.STRUCT: case K.UNION: case K.DATASEC: case K.ENUM64: extra = 12 * vlen; break;
        case K.ENUM: case K.FUNC_PROTO: extra = 8 * vlen; break;
        case K.PTR: case K.FWD: case K.TYPEDEF: case K.VOLATILE: case K.CONST: case K.RESTRICT:
        case K.FUNC: case K.FLOAT: case K.TYPE_TAG: extra = 0; break;
        default: throw new BtfError(`BTF: unknown kind ${kind} at type ${this.firstId + offs.length - 1}`);
      }
      const kn = kindNames[kind]!;
      this.kindCounts.set(kn, (this.kindCounts.get(kn) ?? 0) + 1);
      // Index names of the kinds looked up by name (not FUNCs: 44k of them, rarely wanted).
      if (nameOff && kind !== K.FUNC && kind !== K.FUNC_PROTO && kind !== K.DECL_TAG) {
        const name = this.str(nameOff);
        const id = this.firstId + offs.length - 1;
        const list = this.nameIndex.get(name);
        if (list) list.push(id);
        else this.nameIndex.set(name, [id]);
      }
      p += 12 + extra;
    }
    if (p !== t.length) throw new BtfError('BTF: type section ends inside a type');
    this.offsets = Uint32Array.from(offs);
    this.typeCount = offs.length;
    this.cache = new Array(this.typeCount);
  }

  get totalStrLen(): number {
    return this.strBase + this.strs.length;
  }

  get lastId(): number {
    return this.firstId + this.typeCount - 1;
  }

  str(off: number): string {
    if (off < this.strBase) return this.base!.str(off);
    const o = off - this.strBase;
    const e = this.strs.indexOf(0, o);
    return this.strs.toString('latin1', o, e < 0 ? this.strs.length : e);
  }

  /** All type ids with this name (of the indexed kinds), base first. */
  idsByName(name: string): number[] {
    const own = this.nameIndex.get(name) ?? [];
    return this.base ? [...this.base.idsByName(name), ...own] : own;
  }

  kindOf(id: number): number {
    if (id < this.firstId) return this.base!.kindOf(id);
    const o = this.offsets[id - this.firstId]!;
    return (this.types.readUInt32LE(o + 4) >>> 24) & 0x1f;
  }

  /** Find a named struct/union/enum/typedef/int. `kind` narrows: 'struct', 'union', 'enum', or undefined for any. */
  find(name: string, kind?: 'struct' | 'union' | 'enum' | 'typedef' | 'int' | 'float' | 'var'): Type | undefined {
    const want: number[] | undefined =
      kind === 'struct' ? [K.STRUCT] : kind === 'union' ? [K.UNION] : kind === 'enum' ? [K.ENUM, K.ENUM64]
        : kind === 'typedef' ? [K.TYPEDEF] : kind === 'int' ? [K.INT] : kind === 'float' ? [K.FLOAT] : kind === 'var' ? [K.VAR] : undefined;
    let fwd: Type | undefined;
    for (const id of this.idsByName(name)) {
      const k = this.kindOf(id);
      if (k === K.FWD) {
        fwd ??= this.type(id);
        continue;
      }
      if (!want || want.includes(k)) return this.type(id);
    }
    return kind === 'struct' || kind === 'union' ? fwd : undefined;
  }

  type(id: number): Type {
    if (id === 0) return VOID;
    if (id < this.firstId) return this.base!.type(id);
    const i = id - this.firstId;
    if (i >= this.typeCount) throw new BtfError(`BTF: no type ${id}`);
    const hit = this.cache[i];
    if (hit) return hit;
    const t = this.build(id, this.offsets[i]!);
    this.cache[i] = t;
    return t;
  }

  private build(id: number, o: number): Type {
    const b = this.types;
    const name = this.str(b.readUInt32LE(o));
    const info = b.readUInt32LE(o + 4);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const kflag = info >>> 31 === 1;
    const sizeOrType = b.readUInt32LE(o + 8);
    const d = o + 12;
    const self = this;
    const lazy = <T extends object>(obj: T, key: string, id2: number): T =>
      Object.defineProperty(obj, key, { enumerable: true, get: () => self.type(id2) });
    switch (kind) {
      case K.INT: {
        const v = b.readUInt32LE(d);
        const enc = (v >>> 24) & 0x0f;
        const t: IntType = {
          kind: 'int', name, size: sizeOrType, signed: (enc & 1) !== 0, isChar: (enc & 2) !== 0, isBool: (enc & 4) !== 0, bits: v & 0xff,
        };
        return t;
      }
      case K.PTR: return lazy({ kind: 'pointer', name: '', size: 8 } as Type, 'target', sizeOrType);
      case K.ARRAY: {
        const elem = b.readUInt32LE(d);
        const length = b.readUInt32LE(d + 8);
        return lazy({ kind: 'array', name: '', length } as Type, 'elem', elem);
      }
      case K.STRUCT: case K.UNION: {
        let members: Member[] | undefined;
        const t = { kind: kind === K.STRUCT ? 'struct' : 'union', name, size: sizeOrType } as Type;
        Object.defineProperty(t, 'members', {
          enumerable: true,
          get: () => {
            if (!members) {
              members = [];
              for (let k = 0; k < vlen; k++) {
                const m = d + k * 12;
                const mname = this.str(b.readUInt32LE(m));
                const mtype = b.readUInt32LE(m + 4);
                const off = b.readUInt32LE(m + 8);
                const member = {
                  name: mname,
                  bitOffset: kflag ? off & 0xffffff : off,
                  bitSize: kflag ? off >>> 24 : 0,
                } as Member;
                members.push(lazy(member, 'type', mtype));
              }
            }
            return members;
          },
        });
        return t;
      }
      case K.ENUM: case K.ENUM64: {
        const values: Enumerator[] = [];
        for (let k = 0; k < vlen; k++) {
          if (kind === K.ENUM) {
            const e = d + k * 8;
            values.push({ name: this.str(b.readUInt32LE(e)), value: kflag ? BigInt(b.readInt32LE(e + 4)) : BigInt(b.readUInt32LE(e + 4)) });
          } else {
            const e = d + k * 12;
            const lo = BigInt(b.readUInt32LE(e + 4));
            const hi = BigInt(b.readUInt32LE(e + 8));
            let v = (hi << 32n) | lo;
            if (kflag) v = BigInt.asIntN(64, v);
            values.push({ name: this.str(b.readUInt32LE(e)), value: v });
          }
        }
        return { kind: 'enum', name, size: sizeOrType, signed: kflag, values };
      }
      case K.FWD: return { kind: 'fwd', name, isUnion: kflag };
      case K.TYPEDEF: return lazy({ kind: 'typedef', name } as Type, 'target', sizeOrType);
      case K.VOLATILE: return lazy({ kind: 'volatile', name: '' } as Type, 'target', sizeOrType);
      case K.CONST: return lazy({ kind: 'const', name: '' } as Type, 'target', sizeOrType);
      case K.RESTRICT: return lazy({ kind: 'restrict', name: '' } as Type, 'target', sizeOrType);
      case K.TYPE_TAG: return lazy({ kind: 'type_tag', name } as Type, 'target', sizeOrType);
      case K.FUNC: return lazy({ kind: 'func', name, linkage: vlen } as Type, 'proto', sizeOrType);
      case K.FUNC_PROTO: {
        const params: Array<{ name: string; type: Type }> = [];
        let variadic = false;
        for (let k = 0; k < vlen; k++) {
          const e = d + k * 8;
          const pn = b.readUInt32LE(e);
          const pt = b.readUInt32LE(e + 4);
          if (pn === 0 && pt === 0 && k === vlen - 1) variadic = true;
          else params.push(lazy({ name: this.str(pn) } as { name: string; type: Type }, 'type', pt));
        }
        return lazy({ kind: 'func_proto', name: '', params, variadic } as unknown as Type, 'ret', sizeOrType);
      }
      case K.VAR: return lazy({ kind: 'var', name, linkage: b.readUInt32LE(d) } as Type, 'type', sizeOrType);
      case K.DATASEC: {
        const vars: Array<{ type: Type; offset: number; size: number }> = [];
        for (let k = 0; k < vlen; k++) {
          const e = d + k * 12;
          vars.push(lazy({ offset: b.readUInt32LE(e + 4), size: b.readUInt32LE(e + 8) } as { type: Type; offset: number; size: number }, 'type', b.readUInt32LE(e)));
        }
        return { kind: 'datasec', name, size: sizeOrType, vars };
      }
      case K.FLOAT: return { kind: 'float', name, size: sizeOrType };
      case K.DECL_TAG: return lazy({ kind: 'decl_tag', name, componentIdx: b.readInt32LE(d) } as Type, 'target', sizeOrType);
    }
    throw new BtfError(`BTF: unknown kind ${kind} (type ${id})`);
  }

  /** The value of an enumerator by name (e.g. MM_ANONPAGES), searching every enum; enumerators of anonymous enums included. */
  enumerator(name: string): bigint | undefined {
    if (!this.enumIndex) {
      this.enumIndex = new Map();
      for (let i = 0; i < this.typeCount; i++) {
        const k = (this.types.readUInt32LE(this.offsets[i]! + 4) >>> 24) & 0x1f;
        if (k !== K.ENUM && k !== K.ENUM64) continue;
        const t = this.type(this.firstId + i);
        if (t.kind === 'enum') for (const v of t.values) if (!this.enumIndex.has(v.name)) this.enumIndex.set(v.name, v.value);
      }
    }
    return this.enumIndex.get(name) ?? this.base?.enumerator(name);
  }
  private enumIndex: Map<string, bigint> | null = null;

  /** Per-CPU variables: BTF of 6.x describes exactly one DATASEC, .data..percpu, with VARs. */
  percpuVars(): Map<string, Type> {
    const out = new Map<string, Type>();
    for (const id of this.idsByName('.data..percpu')) {
      const ds = this.type(id);
      if (ds.kind !== 'datasec') continue;
      for (const v of ds.vars) {
        const vt = v.type;
        if (vt.kind === 'var') out.set(vt.name, vt.type);
      }
    }
    return out;
  }
}
