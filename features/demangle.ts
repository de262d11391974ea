// Mangled symbol names as people read them. Kernels with Rust print Rust
// symbols mangled — v0 ("_RNvMs3_NtCs…_11rust_binder7processNtB5_7Process10update_ref")
// or legacy ("_ZN4core9panicking9panic_fmt17h0123456789abcdefE") — and C++
// code (out-of-tree modules, some firmware shims) prints Itanium names. A
// frame is named the way the language writes it, without hashes, crate
// disambiguators or parameter lists, so that two builds of one function are
// one frame: "<rust_binder::process::Process>::update_ref",
// "core::panicking::panic_fmt", "ns::Class::method".
//
// Written from the published grammars (the Rust v0 mangling RFC 2603, the
// Itanium C++ ABI), covering what kernel stacks carry; a name this does not
// understand comes back unchanged.

/** The demangled name, or the name itself when it is not mangled (or not understood). */
export function demangle(name: string): string {
  try {
    if (name.startsWith('_R')) return new V0(name.slice(2)).symbol() ?? name;
    if (name.startsWith('_ZN') || name.startsWith('_Z')) return legacyRust(name) ?? itanium(name) ?? name;
  } catch {
    /* malformed: keep the mangled name */
  }
  return name;
}

class Bad extends Error {}

/** Rust v0 (RFC 2603). Positions for back-references count from the byte after "_R". */
class V0 {
  private pos = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  symbol(): string | null {
    if (/^\d/.test(this.s)) this.decimal(); // encoding version
    const p = this.path();
    return p;
  }

  private peek(): string {
    return this.s[this.pos] ?? '';
  }
  private next(): string {
    const c = this.s[this.pos];
    if (c === undefined) throw new Bad();
    this.pos++;
    return c;
  }
  private eat(c: string): boolean {
    if (this.s[this.pos] === c) {
      this.pos++;
      return true;
    }
    return false;
  }
  private decimal(): number {
    const m = /^\d+/.exec(this.s.slice(this.pos));
    if (!m) throw new Bad();
    this.pos += m[0].length;
    return Number(m[0]);
  }
  private base62(): number {
    if (this.eat('_')) return 0;
    let n = 0;
    for (;;) {
      const c = this.next();
      if (c === '_') return n + 1;
      const d = /[0-9]/.test(c) ? c.charCodeAt(0) - 48 : /[a-z]/.test(c) ? c.charCodeAt(0) - 87 : /[A-Z]/.test(c) ? c.charCodeAt(0) - 29 : -1;
      if (d < 0) throw new Bad();
      // Crate disambiguators are 64-bit hashes: saturate (only back-references need the exact value).
      n = Math.min(n * 62 + d, Number.MAX_SAFE_INTEGER);
    }
  }
  private disambiguator(): number {
    return this.eat('s') ? this.base62() + 1 : 0;
  }
  private ident(): { name: string; dis: number } {
    const dis = this.disambiguator();
    const puny = this.eat('u');
    const len = this.decimal();
    this.eat('_');
    if (this.pos + len > this.s.length) throw new Bad();
    let name = this.s.slice(this.pos, this.pos + len);
    this.pos += len;
    if (puny) name = `punycode{${name}}`;
    return { name, dis };
  }
  /** Run `f` at a back-reference's target, then come back. */
  private backref<T>(f: () => T): T {
    const at = this.pos - 1; // the 'B'
    const target = this.base62();
    if (target >= at || ++this.depth > 64) throw new Bad();
    const save = this.pos;
    this.pos = target;
    try {
      return f();
    } finally {
      this.pos = save;
      this.depth--;
    }
  }

  path(): string {
    const tag = this.next();
    switch (tag) {
      case 'C':
        return this.ident().name;
      case 'M': {
        this.disambiguator();
        this.path(); // the impl's module: not printed
        return `<${this.type()}>`;
      }
      case 'X': {
        this.disambiguator();
        this.path();
        const t = this.type();
        return `<${t} as ${this.path()}>`;
      }
      case 'Y': {
        const t = this.type();
        return `<${t} as ${this.path()}>`;
      }
      case 'N': {
        const ns = this.next();
        const parent = this.path();
        const id = this.ident();
        if (ns === 'C') return `${parent}::{closure${id.name ? `:${id.name}` : ''}#${id.dis}}`;
        if (ns === 'S') return `${parent}::{shim${id.name ? `:${id.name}` : ''}#${id.dis}}`;
        if (/[A-Z]/.test(ns)) return `${parent}::{${ns}${id.name ? `:${id.name}` : ''}#${id.dis}}`;
        return id.name ? `${parent}::${id.name}` : parent;
      }
      case 'I': {
        const p = this.path();
        const args: string[] = [];
        while (!this.eat('E')) args.push(this.genericArg());
        const shown = args.filter((a) => a !== "'_");
        return shown.length ? `${p}::<${shown.join(', ')}>` : p;
      }
      case 'B':
        return this.backref(() => this.path());
      default:
        throw new Bad();
    }
  }

  private genericArg(): string {
    if (this.eat('L')) {
      this.base62();
      return "'_";
    }
    if (this.eat('K')) return this.konst();
    return this.type();
  }

  private konst(): string {
    if (this.eat('p')) return '_';
    if (this.eat('B')) return this.backref(() => this.konst());
    const t = this.type();
    const neg = this.eat('n');
    let hex = '';
    while (this.peek() !== '_') hex += this.next();
    this.next();
    if (t === 'bool') return hex === '1' ? 'true' : 'false';
    if (t === 'char') return `'${String.fromCodePoint(parseInt(hex || '0', 16))}'`;
    return `${neg ? '-' : ''}${hex.length <= 12 ? parseInt(hex || '0', 16) : `0x${hex}`}`;
  }

  private static readonly BASIC: Record<string, string> = {
    a: 'i8', b: 'bool', c: 'char', d: 'f64', e: 'str', f: 'f32', h: 'u8', i: 'isize', j: 'usize', l: 'i32', m: 'u32',
    n: 'i128', o: 'u128', s: 'i16', t: 'u16', u: '()', v: '...', x: 'i64', y: 'u64', z: '!', p: '_',
  };

  type(): string {
    const c = this.peek();
    const basic = V0.BASIC[c];
    if (basic) {
      this.pos++;
      return basic;
    }
    switch (c) {
      case 'A': {
        this.pos++;
        const t = this.type();
        return `[${t}; ${this.konst()}]`;
      }
      case 'S':
        this.pos++;
        return `[${this.type()}]`;
      case 'T': {
        this.pos++;
        const ts: string[] = [];
        while (!this.eat('E')) ts.push(this.type());
        return ts.length === 1 ? `(${ts[0]},)` : `(${ts.join(', ')})`;
      }
      case 'R':
      case 'Q': {
        this.pos++;
        if (this.eat('L')) this.base62();
        return `&${c === 'Q' ? 'mut ' : ''}${this.type()}`;
      }
      case 'P':
        this.pos++;
        return `*const ${this.type()}`;
      case 'O':
        this.pos++;
        return `*mut ${this.type()}`;
      case 'F': {
        this.pos++;
        if (this.eat('G')) this.base62();
        const unsafe = this.eat('U');
        if (this.eat('K')) {
          if (!this.eat('C')) this.ident();
        }
        const args: string[] = [];
        while (!this.eat('E')) args.push(this.type());
        const ret = this.type();
        return `${unsafe ? 'unsafe ' : ''}fn(${args.join(', ')})${ret === '()' ? '' : ` -> ${ret}`}`;
      }
      case 'D': {
        this.pos++;
        if (this.eat('G')) this.base62();
        const traits: string[] = [];
        while (!this.eat('E')) {
          let t = this.path();
          const binds: string[] = [];
          while (this.eat('p')) {
            const id = this.ident();
            binds.push(`${id.name} = ${this.type()}`);
          }
          if (binds.length) t = `${t}<${binds.join(', ')}>`;
          traits.push(t);
        }
        if (this.eat('L')) this.base62();
        return `dyn ${traits.join(' + ')}`;
      }
      case 'B':
        this.pos++;
        return this.backref(() => this.type());
      default:
        return this.path();
    }
  }
}

/** Legacy Rust: an Itanium-style nested name whose last part is a 17-character hash "h0123…". */
function legacyRust(name: string): string | null {
  const m = /^_ZN((?:\d+[^\d].*?)+)E(?:\.|$)/.exec(name);
  if (!m) return null;
  const parts: string[] = [];
  let s = m[1]!;
  while (s.length) {
    const d = /^(\d+)/.exec(s);
    if (!d) return null;
    const n = Number(d[1]);
    const part = s.slice(d[1]!.length, d[1]!.length + n);
    if (part.length !== n) return null;
    parts.push(part);
    s = s.slice(d[1]!.length + n);
  }
  if (parts.length < 2 || !/^h[0-9a-f]{16}$/.test(parts[parts.length - 1]!)) return null;
  parts.pop();
  const unescape = (p: string) =>
    p
      .replace(/^_\$/, '$')
      .replace(/\.\./g, '::')
      .replace(/\$(SP|BP|RF|LT|GT|LP|RP|C|u[0-9a-f]{2,6})\$/g, (_, e: string) => {
        const tbl: Record<string, string> = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' };
        return tbl[e] ?? String.fromCodePoint(parseInt(e.slice(1), 16));
      });
  return parts.map(unescape).join('::');
}

/**
 * Itanium C++: the qualified function name of an encoding (nested names,
 * templates shown as <…>, constructors and destructors, common operators,
 * std:: abbreviations and simple substitutions); parameters are not shown.
 */
function itanium(name: string): string | null {
  if (!name.startsWith('_Z')) return null;
  const p = new Itanium(name.slice(2));
  return p.encoding();
}

class Itanium {
  private pos = 0;
  private subs: string[] = [];
  private depth = 0;
  constructor(private readonly s: string) {}

  private peek(k = 0): string {
    return this.s[this.pos + k] ?? '';
  }
  private eat(c: string): boolean {
    if (this.s.startsWith(c, this.pos)) {
      this.pos += c.length;
      return true;
    }
    return false;
  }

  encoding(): string | null {
    const n = this.name();
    return n && this.pos <= this.s.length ? n : null;
  }

  private static readonly OPS: Record<string, string> = {
    nw: 'new', na: 'new[]', dl: 'delete', da: 'delete[]', pl: '+', mi: '-', ml: '*', dv: '/', rm: '%', an: '&', or: '|', eo: '^',
    aS: '=', pL: '+=', mI: '-=', mL: '*=', dV: '/=', eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=', nt: '!', aa: '&&',
    oo: '||', pp: '++', mm: '--', cl: '()', ix: '[]', pt: '->', ls: '<<', rs: '>>', co: '~', ad: '&', de: '*', ng: '-',
  };

  private sourceName(): string {
    const m = /^\d+/.exec(this.s.slice(this.pos));
    if (!m) throw new Bad();
    this.pos += m[0].length;
    const n = Number(m[0]);
    const id = this.s.slice(this.pos, this.pos + n);
    if (id.length !== n) throw new Bad();
    this.pos += n;
    return id.startsWith('_GLOBAL__N') ? '(anonymous namespace)' : id;
  }

  private unqualified(prev: string | null): string {
    const c = this.peek();
    if (/\d/.test(c)) return this.sourceName();
    if (c === 'C' && /[1-5]/.test(this.peek(1))) {
      this.pos += 2;
      return lastPart(prev);
    }
    if (c === 'D' && /[0-5]/.test(this.peek(1))) {
      this.pos += 2;
      return `~${lastPart(prev)}`;
    }
    const op = Itanium.OPS[this.s.slice(this.pos, this.pos + 2)];
    if (op) {
      this.pos += 2;
      return `operator${/^[a-z]/.test(op) ? ' ' : ''}${op}`;
    }
    if (this.eat('L')) return this.sourceName();
    throw new Bad();
  }

  private substitution(): string {
    // S_ is the first substitution, S0_ the second, ...; St/Sa/Ss... are std abbreviations.
    const abbrev: Record<string, string> = { t: 'std', a: 'std::allocator', b: 'std::basic_string', s: 'std::string', i: 'std::istream', o: 'std::ostream', d: 'std::iostream' };
    const c = this.peek();
    if (abbrev[c]) {
      this.pos++;
      return abbrev[c]!;
    }
    let idx = 0;
    if (c !== '_') {
      const m = /^[0-9A-Z]+/.exec(this.s.slice(this.pos));
      if (!m) throw new Bad();
      idx = parseInt(m[0], 36) + 1;
      this.pos += m[0].length;
    }
    if (!this.eat('_')) throw new Bad();
    const v = this.subs[idx];
    if (v === undefined) throw new Bad();
    return v;
  }

  private templateArgs(): string {
    // Only the shape is kept: types and literals are shown briefly, nesting is tracked.
    if (++this.depth > 32) throw new Bad();
    const args: string[] = [];
    while (!this.eat('E')) {
      if (this.pos >= this.s.length) throw new Bad();
      args.push(this.templateArg());
    }
    this.depth--;
    return `<${args.join(', ')}>`;
  }

  private templateArg(): string {
    if (this.eat('L')) {
      const start = this.pos;
      while (this.peek() && this.peek() !== 'E') this.pos++;
      this.pos++;
      return this.s.slice(start, this.pos - 1).replace(/^[a-z]/, '');
    }
    if (this.eat('I')) return this.templateArgs();
    return this.type();
  }

  private static readonly BUILTIN: Record<string, string> = {
    v: 'void', b: 'bool', c: 'char', a: 'signed char', h: 'unsigned char', s: 'short', t: 'unsigned short', i: 'int', j: 'unsigned int',
    l: 'long', m: 'unsigned long', x: 'long long', y: 'unsigned long long', f: 'float', d: 'double', e: 'long double', z: '...',
  };

  private type(): string {
    const c = this.peek();
    if (Itanium.BUILTIN[c]) {
      this.pos++;
      return Itanium.BUILTIN[c]!;
    }
    if (c === 'P' || c === 'R' || c === 'K' || c === 'O') {
      this.pos++;
      const t = this.type();
      return c === 'P' ? `${t}*` : c === 'R' ? `${t}&` : c === 'O' ? `${t}&&` : `${t} const`;
    }
    if (c === 'N' || /\d/.test(c) || c === 'S') return this.name();
    throw new Bad();
  }

  name(): string {
    if (++this.depth > 64) throw new Bad();
    try {
      if (this.eat('N')) {
        while (/[rVKRO]/.test(this.peek())) this.pos++;
        const parts: string[] = [];
        while (!this.eat('E')) {
          if (this.pos >= this.s.length) throw new Bad();
          if (this.eat('S')) parts.push(this.substitution());
          else if (this.eat('I')) parts[parts.length - 1] += this.templateArgs();
          else parts.push(this.unqualified(parts.length ? parts[parts.length - 1]! : null));
          this.subs.push(parts.join('::'));
        }
        return parts.join('::');
      }
      if (this.eat('S')) {
        let sub = this.substitution();
        if (/\d/.test(this.peek())) sub = `${sub}::${this.unqualified(sub)}`;
        if (this.eat('I')) sub += this.templateArgs();
        return sub;
      }
      if (this.eat('Z')) {
        // A local name: function::entity.
        const fn = this.name();
        while (this.peek() && this.peek() !== 'E') this.pos++;
        this.pos++;
        return `${fn}::${this.name()}`;
      }
      let n = this.unqualified(null);
      this.subs.push(n);
      if (this.eat('I')) n += this.templateArgs();
      return n;
    } finally {
      this.depth--;
    }
  }
}

function lastPart(prev: string | null): string {
  if (!prev) throw new Bad();
  const noTemplate = prev.replace(/<.*>$/, '');
  const i = noTemplate.lastIndexOf('::');
  return i >= 0 ? noTemplate.slice(i + 2) : noTemplate;
}
