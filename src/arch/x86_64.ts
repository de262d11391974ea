// x86_64: virtual→physical translation through the kernel's own page tables
// (4- and 5-level, 2 MiB and 1 GiB pages), and the register sets dumps carry.
//
// Bootstrap follows drgn: the page-table root is swapper_pg_dir (init_top_pgt)
// translated *physically* with phys_base — pa = va - __START_KERNEL_map +
// phys_base — so no translation is needed to start translating. phys_base
// comes from VMCOREINFO (QEMU's kdump sub-header copy is misparsed as hex).

import { DumpReadError, hex } from '../dump/errors.js';
import type { PhysicalMemory } from '../dump/memory.js';

export const START_KERNEL_MAP = 0xffffffff80000000n;
/** Default link address of the kernel image; KERNELOFFSET is relative to it. */
export const START_KERNEL = 0xffffffff81000000n;
const PAGE_SIZE = 4096;

/** The virtual address has no valid mapping in the page tables. */
export class PageNotMappedError extends DumpReadError {
  constructor(vaddr: bigint, detail = 'virtual address not mapped') {
    super(vaddr, detail, 'virtual');
  }
}

export interface X86_64Params {
  /** NUMBER(phys_base), as an unsigned 64-bit value. */
  physBase: bigint;
  /** Virtual address of swapper_pg_dir / init_top_pgt (a kernel-image address). */
  swapperPgDir: bigint;
  /** NUMBER(pgtable_l5_enabled). */
  level5: boolean;
  /** NUMBER(sme_mask): AMD SME's C-bit, to be masked out of table entries. */
  smeMask?: bigint;
}

const TWO32 = 0x100000000;

export class X86_64 {
  readonly pgdPhys: number;
  readonly level5: boolean;
  private readonly smeHi: number;
  private readonly smeLo: number;
  private tlb = new Map<bigint, number>(); // virtual page number → physical page address
  // Large pages found by walks (the kernel image and the direct map are mapped with 2 MiB and
  // 1 GiB pages): virtual 2 MiB / 1 GiB frame number → physical base. Without them every 4 KiB
  // page of a large one took a walk of its own.
  private tlb2m = new Map<bigint, number>();
  private tlb1g = new Map<bigint, number>();
  translations = 0;

  constructor(readonly phys: PhysicalMemory, readonly params: X86_64Params) {
    this.level5 = params.level5;
    this.pgdPhys = Number(BigInt.asUintN(64, params.swapperPgDir - START_KERNEL_MAP + params.physBase));
    const sme = params.smeMask ?? 0n;
    this.smeHi = Number((sme >> 32n) & 0xffffffffn);
    this.smeLo = Number(sme & 0xffffffffn);
  }

  /** Kernel-image virtual address → physical, without page tables (valid for _text.._end). */
  kernelImagePhys(va: bigint): number {
    return Number(BigInt.asUintN(64, va - START_KERNEL_MAP + this.params.physBase));
  }

  private isCanonical(va: bigint): boolean {
    const bits = this.level5 ? 57n : 48n;
    const top = va >> (bits - 1n);
    return top === 0n || top === (1n << (65n - bits)) - 1n;
  }

  /** Translate with the kernel page tables rooted at `root` (physical), or swapper_pg_dir. */
  translate(va: bigint, root = this.pgdPhys): number {
    va = BigInt.asUintN(64, va);
    const vpn = va >> 12n;
    const off = Number(va & 0xfffn);
    if (root === this.pgdPhys) {
      const hit = this.tlb.get(vpn);
      if (hit !== undefined) return hit + off;
      const m2 = this.tlb2m.get(va >> 21n);
      if (m2 !== undefined) return m2 + Number(va & 0x1fffffn);
      const g1 = this.tlb1g.get(va >> 30n);
      if (g1 !== undefined) return g1 + Number(va & 0x3fffffffn);
    }
    if (!this.isCanonical(va)) throw new PageNotMappedError(va, 'non-canonical virtual address');
    this.translations++;
    let table = root;
    const shifts = this.level5 ? [48n, 39n, 30n, 21n, 12n] : [39n, 30n, 21n, 12n];
    for (let level = 0; level < shifts.length; level++) {
      const shift = shifts[level]!;
      const idx = Number((va >> shift) & 511n);
      let e: Buffer;
      try {
        e = this.phys.read(table + idx * 8, 8);
      } catch (err) {
        if (err instanceof DumpReadError) {
          throw new PageNotMappedError(va, `page table at physical ${hex(table)} unreadable (${err.reason})`);
        }
        throw err;
      }
      const lo = e.readUInt32LE(0) & ~this.smeLo;
      const hi = e.readUInt32LE(4) & ~this.smeHi;
      if ((lo & 1) === 0) throw new PageNotMappedError(va);
      // Bits 12..51 are the address; bit 63 (NX) and the high software bits are not.
      const addr = (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
      const large = (lo & 0x80) !== 0 && (shift === 30n || shift === 21n);
      if (large) {
        const size = shift === 30n ? 0x40000000 : 0x200000;
        const base = addr - (addr % size);
        const inLarge = Number(va & BigInt(size - 1));
        if (root === this.pgdPhys) {
          const big = shift === 30n ? this.tlb1g : this.tlb2m;
          if (big.size > 1 << 16) big.clear();
          big.set(va >> shift, base);
        }
        return base + inLarge;
      }
      if (shift === 12n) {
        if (root === this.pgdPhys) this.remember(vpn, addr);
        return addr + off;
      }
      table = addr;
    }
    throw new PageNotMappedError(va);
  }

  private remember(vpn: bigint, pagePhys: number): void {
    if (this.tlb.size > 1 << 18) this.tlb.clear();
    this.tlb.set(vpn, pagePhys);
  }

  /** Read `length` bytes of kernel virtual memory. */
  read(va: bigint, length: number): Buffer {
    va = BigInt.asUintN(64, va);
    const off = Number(va & 0xfffn);
    if (off + length <= PAGE_SIZE) return this.readPhys(va, this.translate(va), length);
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const a = va + BigInt(done);
      const o = Number(a & 0xfffn);
      const n = Math.min(PAGE_SIZE - o, length - done);
      this.readPhys(a, this.translate(a), n).copy(out, done);
      done += n;
    }
    return out;
  }

  private readPhys(va: bigint, pa: number, length: number): Buffer {
    try {
      return this.phys.read(pa, length);
    } catch (err) {
      if (err instanceof DumpReadError && err.space === 'physical') {
        // Keep the dump layer's error class (excluded / not in dump / corrupt) and name both addresses.
        (err as { message: string }).message = `${err.reason} at virtual address ${hex(va)} (physical ${hex(pa)})`;
      }
      throw err;
    }
  }
}

/** Register names in the order of struct user_regs_struct / elf_prstatus.pr_reg. */
export const PR_REG_NAMES = [
  'r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8',
  'rax', 'rcx', 'rdx', 'rsi', 'rdi', 'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss',
  'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs',
] as const;
export type RegName = (typeof PR_REG_NAMES)[number];
export type Registers = Partial<Record<RegName, bigint>>;

export interface PrStatus {
  pid: number;
  regs: Registers;
}

/** struct elf_prstatus on x86_64: pr_pid at 32, pr_reg (27 u64) at 112 (336 bytes). */
export function parsePrStatus(desc: Buffer): PrStatus | null {
  if (desc.length < 112 + PR_REG_NAMES.length * 8) return null;
  const regs: Registers = {};
  PR_REG_NAMES.forEach((name, i) => {
    regs[name] = desc.readBigUInt64LE(112 + i * 8);
  });
  return { pid: desc.readUInt32LE(32), regs };
}

export interface QemuCpuState {
  regs: Registers;
  cr: bigint[];
  gsBase: bigint;
  idtBase: bigint;
  kernelGsBase?: bigint;
}

/**
 * QEMU's "QEMU" note (target/i386/arch_dump.c QEMUCPUState v1): version,
 * size, rax..r15, rip, rflags, 10 segments {u32 sel, limit, flags, pad; u64
 * base} for cs ds es fs gs ss ldt tr gdt idt, then cr[5].
 */
export function parseQemuCpuState(desc: Buffer): QemuCpuState | null {
  if (desc.length < 432) return null;
  const order = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
  const regs: Registers = {};
  order.forEach((n, i) => (regs[n] = desc.readBigUInt64LE(8 + i * 8)));
  regs.rip = desc.readBigUInt64LE(136);
  regs.eflags = desc.readBigUInt64LE(144);
  const seg = (i: number) => 152 + i * 24;
  regs.cs = BigInt(desc.readUInt32LE(seg(0)));
  regs.ss = BigInt(desc.readUInt32LE(seg(5)));
  const cr = [0, 1, 2, 3, 4].map((i) => desc.readBigUInt64LE(392 + i * 8));
  return {
    regs,
    cr,
    gsBase: desc.readBigUInt64LE(seg(4) + 16),
    idtBase: desc.readBigUInt64LE(seg(9) + 16),
    kernelGsBase: desc.length >= 440 ? desc.readBigUInt64LE(432) : undefined,
  };
}
