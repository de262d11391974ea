// The type model the object API works with: C types as BTF describes them
// (and a few made by hand for globals BTF lacks). Targets of pointers,
// typedefs, members are resolved lazily, so parsing 100k BTF types costs
// nothing until a type is used.

export type Kind =
  | 'void' | 'int' | 'float' | 'pointer' | 'array' | 'struct' | 'union' | 'enum' | 'fwd' | 'typedef'
  | 'const' | 'volatile' | 'restrict' | 'type_tag' | 'func' | 'func_proto' | 'var' | 'datasec' | 'decl_tag';

export interface Member {
  name: string;
  /** Offset of the member from the start of its container, in bits. */
  bitOffset: number;
  /** Width for bitfields, 0 otherwise. */
  bitSize: number;
  readonly type: Type;
}

export interface VoidType { kind: 'void'; name: 'void' }
export interface IntType { kind: 'int'; name: string; size: number; signed: boolean; isChar: boolean; isBool: boolean; bits: number }
export interface FloatType { kind: 'float'; name: string; size: number }
export interface PointerType { kind: 'pointer'; name: ''; size: number; readonly target: Type }
export interface ArrayType { kind: 'array'; name: ''; readonly elem: Type; length: number }
export interface CompoundType { kind: 'struct' | 'union'; name: string; size: number; readonly members: Member[] }
export interface Enumerator { name: string; value: bigint }
export interface EnumType { kind: 'enum'; name: string; size: number; signed: boolean; values: Enumerator[] }
export interface FwdType { kind: 'fwd'; name: string; isUnion: boolean }
export interface TypedefType { kind: 'typedef'; name: string; readonly target: Type }
export interface QualifiedType { kind: 'const' | 'volatile' | 'restrict' | 'type_tag'; name: string; readonly target: Type }
export interface FuncType { kind: 'func'; name: string; linkage: number; readonly proto: Type }
export interface FuncProtoType { kind: 'func_proto'; name: ''; readonly ret: Type; readonly params: Array<{ name: string; readonly type: Type }>; variadic: boolean }
export interface VarType { kind: 'var'; name: string; linkage: number; readonly type: Type }
export interface DatasecType { kind: 'datasec'; name: string; size: number; readonly vars: Array<{ readonly type: Type; offset: number; size: number }> }
export interface DeclTagType { kind: 'decl_tag'; name: string; componentIdx: number; readonly target: Type }

export type Type =
  | VoidType | IntType | FloatType | PointerType | ArrayType | CompoundType | EnumType | FwdType | TypedefType
  | QualifiedType | FuncType | FuncProtoType | VarType | DatasecType | DeclTagType;

export const VOID: VoidType = { kind: 'void', name: 'void' };

/** Skip typedefs and qualifiers down to the type that has a layout. */
export function strip(t: Type): Type {
  let cur = t;
  for (let i = 0; i < 64; i++) {
    if (cur.kind === 'typedef' || cur.kind === 'const' || cur.kind === 'volatile' || cur.kind === 'restrict' || cur.kind === 'type_tag') {
      cur = cur.target;
    } else return cur;
  }
  throw new Error(`type chain too deep at ${typeName(t)}`);
}

export function sizeOf(t: Type): number {
  const s = strip(t);
  switch (s.kind) {
    case 'int': case 'float': case 'pointer': case 'struct': case 'union': case 'enum':
      return s.size;
    case 'array':
      return sizeOf(s.elem) * s.length;
    case 'void':
      return 1; // as gcc does for void * arithmetic
    default:
      return 0;
  }
}

const pointerCache = new WeakMap<Type, PointerType>();
export function pointerTo(t: Type): PointerType {
  let p = pointerCache.get(t);
  if (!p) {
    p = { kind: 'pointer', name: '', size: 8, target: t };
    pointerCache.set(t, p);
  }
  return p;
}

export function arrayOf(t: Type, length: number): ArrayType {
  return { kind: 'array', name: '', elem: t, length };
}

export interface ResolvedMember {
  bitOffset: number;
  bitSize: number;
  type: Type;
}

const memberCache = new WeakMap<Type, Map<string, ResolvedMember | null>>();

/** Find a member by name, looking inside anonymous structs and unions (rq.cfs is direct; task_struct.__state sits in none, but many do). */
export function findMember(t: Type, name: string): ResolvedMember | undefined {
  const s = strip(t);
  if (s.kind !== 'struct' && s.kind !== 'union') return undefined;
  let cache = memberCache.get(s);
  if (!cache) {
    cache = new Map();
    memberCache.set(s, cache);
  }
  const hit = cache.get(name);
  if (hit !== undefined) return hit ?? undefined;
  const found = searchMember(s, name, 0, 0);
  cache.set(name, found ?? null);
  return found;
}

function searchMember(s: CompoundType, name: string, base: number, depth: number): ResolvedMember | undefined {
  if (depth > 16) return undefined;
  for (const m of s.members) {
    if (m.name === name) return { bitOffset: base + m.bitOffset, bitSize: m.bitSize, type: m.type };
  }
  for (const m of s.members) {
    if (m.name !== '') continue;
    const inner = strip(m.type);
    if (inner.kind === 'struct' || inner.kind === 'union') {
      const r = searchMember(inner, name, base + m.bitOffset, depth + 1);
      if (r) return r;
    }
  }
  return undefined;
}

export function hasMember(t: Type, name: string): boolean {
  return findMember(t, name) !== undefined;
}

/** C spelling of a type, e.g. "struct task_struct *", "char [16]". */
export function typeName(t: Type): string {
  switch (t.kind) {
    case 'void': return 'void';
    case 'int': case 'float': case 'typedef': return t.name;
    case 'struct': case 'union': return `${t.kind} ${t.name || '<anonymous>'}`;
    case 'enum': return `enum ${t.name || '<anonymous>'}`;
    case 'fwd': return `${t.isUnion ? 'union' : 'struct'} ${t.name}`;
    case 'pointer': {
      const inner = typeName(t.target);
      return inner.endsWith('*') ? `${inner}*` : `${inner} *`;
    }
    case 'array': return `${typeName(t.elem)} [${t.length}]`;
    case 'const': case 'volatile': case 'restrict': return `${t.kind} ${typeName(t.target)}`;
    case 'type_tag': return typeName(t.target);
    case 'func': return `${t.name}()`;
    case 'func_proto': return 'function';
    case 'var': return t.name;
    case 'datasec': return `section ${t.name}`;
    case 'decl_tag': return `tag ${t.name}`;
  }
}

export function isInteger(t: Type): boolean {
  const s = strip(t);
  return s.kind === 'int' || s.kind === 'enum';
}

export function isPointer(t: Type): boolean {
  return strip(t).kind === 'pointer';
}

export function isCompound(t: Type): t is CompoundType {
  const s = strip(t);
  return s.kind === 'struct' || s.kind === 'union';
}
