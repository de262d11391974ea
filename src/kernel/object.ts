// Typed objects over dump memory, in the manner of drgn: an object is a type
// plus either an address (an lvalue, read lazily) or a value. Member access
// follows pointers implicitly (task.member('parent').member('comm') is
// task->parent->comm), so helpers read like the kernel code they mirror.

import type { Program } from './program.js';
import { ReadFault } from './problems.js';
import {
  findMember, pointerTo, sizeOf, strip, typeName, type ResolvedMember, type Type,
} from './types.js';

export class KObject {
  constructor(
    readonly prog: Program,
    readonly type: Type,
    /** Address of an lvalue; undefined for values. */
    readonly address: bigint | undefined,
    /** Value of an rvalue (integers and pointers). */
    readonly rvalue?: bigint,
    /** For bitfields: bit offset from `address` and width. */
    readonly bits?: { offset: number; size: number },
  ) {}

  /** The type with typedefs and qualifiers removed. */
  get realType(): Type {
    return strip(this.type);
  }

  get typeName(): string {
    return typeName(this.type);
  }

  get size(): number {
    return sizeOf(this.type);
  }

  /** Does this struct (or the struct a pointer points to) have the member? For BTF feature tests. */
  has(name: string): boolean {
    let t = strip(this.type);
    if (t.kind === 'pointer') t = strip(t.target);
    return findMember(t, name) !== undefined;
  }

  private requireAddress(what: string): bigint {
    if (this.address === undefined) throw new ReadFault(`cannot ${what}: ${this.typeName} value has no address`);
    return this.address;
  }

  /** Member by name or dotted path ("se.vruntime", "thread.sp"); pointers on the way are followed. */
  member(path: string): KObject {
    let obj: KObject = this;
    for (const part of path.split(/\.|->/)) {
      if (part === '') continue;
      const idx = /^(\w+)\[(\d+)\]$/.exec(part);
      obj = obj.oneMember(idx ? idx[1]! : part);
      if (idx) obj = obj.index(Number(idx[2]));
    }
    return obj;
  }

  private oneMember(name: string): KObject {
    let base: KObject = this;
    let t = strip(this.type);
    if (t.kind === 'pointer') {
      base = this.deref();
      t = strip(base.type);
    }
    if (t.kind !== 'struct' && t.kind !== 'union') throw new ReadFault(`${typeName(this.type)} has no members (asked for ${name})`);
    const m: ResolvedMember | undefined = findMember(t, name);
    if (!m) throw new ReadFault(`${typeName(t)} has no member ${name}`);
    const addr = base.requireAddress(`take member ${name}`);
    const byte = Math.floor(m.bitOffset / 8);
    if (m.bitSize) return new KObject(this.prog, m.type, addr + BigInt(byte), undefined, { offset: m.bitOffset - byte * 8, size: m.bitSize });
    return new KObject(this.prog, m.type, addr + BigInt(byte));
  }

  /** Follow a pointer. */
  deref(): KObject {
    const t = strip(this.type);
    if (t.kind !== 'pointer') throw new ReadFault(`cannot dereference ${typeName(this.type)}`);
    const p = this.value();
    if (p === 0n) throw new ReadFault(`NULL pointer dereference (${typeName(this.type)})`, 0n);
    return new KObject(this.prog, t.target, p);
  }

  /** Array element or pointer arithmetic. */
  index(i: number): KObject {
    const t = strip(this.type);
    if (t.kind === 'array') {
      if (t.length && (i < 0 || i >= t.length)) throw new ReadFault(`index ${i} outside ${typeName(this.type)}`);
      return new KObject(this.prog, t.elem, this.requireAddress('index') + BigInt(i * sizeOf(t.elem)));
    }
    if (t.kind === 'pointer') {
      return new KObject(this.prog, t.target, this.value() + BigInt(i * sizeOf(t.target)));
    }
    throw new ReadFault(`cannot index ${typeName(this.type)}`);
  }

  /** Raw bytes of the object. */
  bytes(): Buffer {
    return this.prog.read(this.requireAddress('read'), this.size);
  }

  /** Integer, enum, bool or pointer value as an unsigned or signed bigint. */
  value(): bigint {
    if (this.rvalue !== undefined) return this.rvalue;
    const t = strip(this.type);
    const addr = this.requireAddress('read');
    let size: number;
    let signed = false;
    switch (t.kind) {
      case 'pointer': size = 8; break;
      case 'int': size = t.size; signed = t.signed; break;
      case 'enum': size = t.size; signed = t.signed; break;
      case 'struct': case 'union':
        // atomic_t, atomic_long_t, refcount_t and friends: one integer member.
        if (t.members.length === 1) return this.member(t.members[0]!.name).value();
        throw new ReadFault(`${typeName(this.type)} is not a scalar`);
      default: throw new ReadFault(`${typeName(this.type)} is not a scalar`);
    }
    if (this.bits) {
      const nbytes = Math.ceil((this.bits.offset + this.bits.size) / 8);
      const b = this.prog.read(addr, nbytes);
      let v = 0n;
      for (let i = nbytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
      v = (v >> BigInt(this.bits.offset)) & ((1n << BigInt(this.bits.size)) - 1n);
      return signed ? BigInt.asIntN(this.bits.size, v) : v;
    }
    const b = this.prog.read(addr, size);
    switch (size) {
      case 1: return BigInt(signed ? b.readInt8(0) : b.readUInt8(0));
      case 2: return BigInt(signed ? b.readInt16LE(0) : b.readUInt16LE(0));
      case 4: return BigInt(signed ? b.readInt32LE(0) : b.readUInt32LE(0));
      case 8: return signed ? b.readBigInt64LE(0) : b.readBigUInt64LE(0);
      default: throw new ReadFault(`unsupported integer size ${size}`);
    }
  }

  /** value() as a JS number (exact for anything below 2^53). */
  num(): number {
    return Number(this.value());
  }

  bool(): boolean {
    return this.value() !== 0n;
  }

  isNull(): boolean {
    return this.value() === 0n;
  }

  /** Name of an enum value, or the number. */
  enumName(): string {
    const t = strip(this.type);
    const v = this.value();
    if (t.kind === 'enum') {
      const e = t.values.find((x) => x.value === v);
      if (e) return e.name;
    }
    return v.toString();
  }

  /** A C string: a char array (up to its length) or a char pointer (up to maxLen). */
  string(maxLen = 4096): string {
    const t = strip(this.type);
    if (t.kind === 'array') {
      const b = this.bytes();
      const n = b.indexOf(0);
      return b.toString('latin1', 0, n < 0 ? b.length : n);
    }
    if (t.kind === 'pointer') {
      const p = this.value();
      if (p === 0n) return '';
      return this.prog.readCString(p, maxLen);
    }
    throw new ReadFault(`${typeName(this.type)} is not a string`);
  }

  /** &object. */
  addressOf(): KObject {
    return new KObject(this.prog, pointerTo(this.type), undefined, this.requireAddress('take the address of'));
  }

  /** Same memory seen as another type (lvalue), or a value converted (pointer/integer). */
  cast(type: Type | string): KObject {
    const t = typeof type === 'string' ? this.prog.type(type) : type;
    if (this.address !== undefined && strip(t).kind !== 'pointer') return new KObject(this.prog, t, this.address);
    return new KObject(this.prog, t, undefined, this.value());
  }

  /**
   * container_of: this object is (or points to) the member `memberPath` of
   * an enclosing `typeName`; return the enclosing object.
   */
  containerOf(type: Type | string, memberPath: string): KObject {
    const t = typeof type === 'string' ? this.prog.type(type) : type;
    const p = strip(this.type).kind === 'pointer' ? this.value() : this.requireAddress('container_of');
    return new KObject(this.prog, t, p - BigInt(this.prog.offsetOf(t, memberPath)));
  }

  /** Pointer value or address as 0x-hex, for output. */
  hex(): string {
    const v = this.address !== undefined && strip(this.type).kind !== 'pointer' ? this.address : this.value();
    return BigInt.asUintN(64, v).toString(16).padStart(16, '0');
  }

  toString(): string {
    return `(${this.typeName})${this.address !== undefined ? ' @' + this.address.toString(16) : ' ' + this.rvalue}`;
  }
}
