// Loaded modules as far as symbols and unwinding need them: where each
// module's text lies, its own kallsyms (mod->kallsyms: ELF symtab + strtab +
// typetab, 5.2+) and its ORC tables (mod->arch). The `mod` command's richer
// view is built on this in helpers/modules.ts.

import type { Program } from './program.js';
import type { KObject } from './object.js';
import { listForEachEntry } from './iter.js';
import { Problems } from './problems.js';
import { symbolTableFrom, type SymbolTable } from './kallsyms.js';

export interface ModuleRegion {
  kind: 'core' | 'init';
  base: bigint;
  size: number;
  /** Bytes of text at the region's start (0 for a data-only region). */
  textSize: number;
}

export interface LoadedModule {
  obj: KObject;
  name: string;
  regions: ModuleRegion[];
  /** Built on first use. */
  symbols(): SymbolTable | null;
}

/**
 * Text/data regions of a module: core_layout/init_layout before 6.4, the
 * mem[] array from 6.4 (commit ac3b43283923 "module: replace module_layout
 * with module_memory").
 */
export function moduleRegions(mod: KObject): ModuleRegion[] {
  if (mod.has('core_layout')) {
    const r = (kind: 'core' | 'init', l: KObject): ModuleRegion => ({
      kind, base: l.member('base').value(), size: l.member('size').num(), textSize: l.member('text_size').num(),
    });
    return [r('core', mod.member('core_layout')), r('init', mod.member('init_layout'))].filter((x) => x.base !== 0n && x.size > 0);
  }
  // enum mod_mem_type (6.4+): each kind of section has its own allocation. Text first, so
  // mod.regions[0] stays the core text; data regions let data symbols (a module's locks)
  // be named too. Values from the dump's BTF, the 6.4 numbering as fallback.
  const mem = mod.member('mem');
  const btf = mod.prog.btf;
  const kinds: Array<[string, number, 'core' | 'init', boolean]> = [
    ['MOD_TEXT', 0, 'core', true], ['MOD_DATA', 1, 'core', false], ['MOD_RODATA', 2, 'core', false], ['MOD_RO_AFTER_INIT', 3, 'core', false],
    ['MOD_INIT_TEXT', 4, 'init', true], ['MOD_INIT_DATA', 5, 'init', false], ['MOD_INIT_RODATA', 6, 'init', false],
  ];
  const out: ModuleRegion[] = [];
  for (const [name, dflt, kind, text] of kinds) {
    const i = Number(btf?.enumerator(name) ?? BigInt(dflt));
    const m = mem.index(i);
    const size = m.member('size').num();
    const base = m.member('base').value();
    if (base !== 0n && size > 0) out.push({ kind, base, size, textSize: text ? size : 0 });
  }
  return out;
}

const SHN_UNDEF = 0;

function loadModuleSymbols(mod: KObject, regions: ModuleRegion[]): SymbolTable | null {
  const prog = mod.prog;
  const ks = mod.member('kallsyms');
  if (ks.isNull()) return null;
  const n = ks.member('num_symtab').num();
  if (n <= 0 || n > 1 << 20) return null;
  const symtab = ks.member('symtab').value();
  const strtab = ks.member('strtab').value();
  const typetabPtr = ks.has('typetab') ? ks.member('typetab').value() : 0n;
  const symType = prog.type('Elf64_Sym');
  const symSize = (symType as { size?: number }).size ?? 24;
  const raw = prog.read(symtab, n * symSize);
  const types = typetabPtr ? prog.read(typetabPtr, n) : null;
  const off = (m: string) => prog.offsetOf(symType, m);
  const oName = off('st_name');
  const oShndx = off('st_shndx');
  const oValue = off('st_value');
  const entries: Array<{ name: string; type: string; address: bigint }> = [];
  for (let i = 1; i < n; i++) {
    const b = i * symSize;
    if (raw.readUInt16LE(b + oShndx) === SHN_UNDEF) continue;
    const value = raw.readBigUInt64LE(b + oValue);
    if (value === 0n) continue;
    let name: string;
    try {
      name = prog.readCString(strtab + BigInt(raw.readUInt32LE(b + oName)), 256);
    } catch {
      continue;
    }
    // Unnamed and ARM-style mapping symbols are skipped, as find_kallsyms_symbol() does.
    if (name === '' || name.startsWith('$')) continue;
    entries.push({ name, type: types ? String.fromCharCode(types[i]!) : 't', address: value });
  }
  // End markers so the last symbol of each text region gets its size from the region end.
  for (const r of regions) entries.push({ name: '', type: 'a', address: r.base + BigInt(r.textSize || r.size) });
  return entries.length ? symbolTableFrom(entries) : null;
}

/** Every module on the `modules` list (bounded, cycle-checked). Cached per program. */
export function loadedModules(prog: Program, problems = new Problems()): LoadedModule[] {
  const cached = prog.cache.get('modules:list') as LoadedModule[] | undefined;
  if (cached) return cached;
  const out: LoadedModule[] = [];
  for (const mod of listForEachEntry(prog.object('modules'), 'struct module', 'list', { problems, context: 'modules list', limit: 10000 })) {
    try {
      const regions = moduleRegions(mod);
      let syms: SymbolTable | null | undefined;
      out.push({
        obj: mod,
        name: mod.member('name').string(),
        regions,
        symbols: () => {
          if (syms === undefined) {
            try {
              syms = loadModuleSymbols(mod, regions);
            } catch {
              syms = null;
            }
          }
          return syms;
        },
      });
    } catch (e) {
      problems.fromError(e, `module at ${mod.hex()}`);
    }
  }
  prog.cache.set('modules:list', out);
  return out;
}

/** The module whose text holds `addr`, if any. */
export function moduleOfAddress(prog: Program, addr: bigint): { mod: LoadedModule; region: ModuleRegion } | undefined {
  for (const mod of loadedModules(prog)) {
    for (const r of mod.regions) {
      if (addr >= r.base && addr < r.base + BigInt(r.size)) return { mod, region: r };
    }
  }
  return undefined;
}

/** Symbolize an address inside a module: name, offset, size (distance to the next symbol), module name. */
export function symbolizeModuleAddress(prog: Program, addr: bigint): { name: string; offset: number; size: number; module: string } | undefined {
  const hit = moduleOfAddress(prog, addr);
  if (!hit) return undefined;
  const r = hit.mod.symbols()?.symbolize(addr);
  if (!r || r.entry.name === '') return undefined;
  return { name: r.entry.name, offset: r.offset, size: r.entry.size, module: hit.mod.name };
}

/** Address of a symbol defined in a module (first module that has it). */
export function moduleSymbolAddress(prog: Program, name: string): { address: bigint; module: string } | undefined {
  for (const mod of loadedModules(prog)) {
    const a = mod.symbols()?.address(name);
    if (a !== undefined) return { address: a, module: mod.name };
  }
  return undefined;
}
