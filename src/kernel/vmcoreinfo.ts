// VMCOREINFO: the KEY=VALUE text the kernel leaves for dump tools
// (kernel/crash_core.c, arch/x86/kernel/crash_core_64.c). Formats follow the
// macros in include/linux/crash_core.h: SYMBOL and KERNELOFFSET are hex
// without 0x; NUMBER is a signed decimal (%ld) — though 6.12 writes
// NUMBER(VMALLOC_START) as 0x-prefixed hex —; OFFSET/SIZE/LENGTH are
// unsigned decimal; CRASHTIME is decimal seconds (added only by a real
// kexec crash).

export class VmcoreInfo {
  readonly entries = new Map<string, string>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      if (!/^[A-Za-z0-9_()\-.]+$/.test(key)) continue;
      this.entries.set(key, line.slice(eq + 1).trim());
    }
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  /** SYMBOL(name): a hex address. */
  symbol(name: string): bigint | undefined {
    return parseHex(this.entries.get(`SYMBOL(${name})`));
  }

  /** NUMBER(name): signed decimal, or 0x-hex. Returned as bigint (two's complement kept). */
  number(name: string): bigint | undefined {
    return parseSigned(this.entries.get(`NUMBER(${name})`));
  }

  offset(name: string): number | undefined {
    return parseDec(this.entries.get(`OFFSET(${name})`));
  }

  size(name: string): number | undefined {
    return parseDec(this.entries.get(`SIZE(${name})`));
  }

  length(name: string): number | undefined {
    return parseDec(this.entries.get(`LENGTH(${name})`));
  }

  get osrelease(): string | undefined {
    return this.entries.get('OSRELEASE');
  }

  get pageSize(): number {
    return parseDec(this.entries.get('PAGESIZE')) ?? 4096;
  }

  /** KASLR slide of the kernel image (KERNELOFFSET, hex). */
  get kernelOffset(): bigint {
    return parseHex(this.entries.get('KERNELOFFSET')) ?? 0n;
  }

  /** Seconds since the epoch at crash time; absent in hypervisor dumps (and when the value is damaged: see kexecCrash). */
  get crashTime(): number | undefined {
    return parseDec(this.entries.get('CRASHTIME'));
  }

  /**
   * Written by the crashing kernel itself (kexec into a capture kernel): the kernel adds CRASHTIME
   * at crash time, a hypervisor's dump has none. The key decides, not its value, so a damaged
   * number does not turn a kdump into a hypervisor dump.
   */
  get kexecCrash(): boolean {
    return this.entries.has('CRASHTIME');
  }

  get buildId(): string | undefined {
    return this.entries.get('BUILD-ID');
  }
}

function parseHex(v: string | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  const s = v.startsWith('0x') || v.startsWith('0X') ? v.slice(2) : v;
  if (!/^[0-9a-fA-F]+$/.test(s)) return undefined;
  return BigInt('0x' + s);
}

function parseSigned(v: string | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  if (/^0[xX][0-9a-fA-F]+$/.test(v)) return BigInt(v);
  if (!/^-?\d+$/.test(v)) return undefined;
  return BigInt(v);
}

function parseDec(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/**
 * Find VMCOREINFO text in physical memory when the dump carries no note
 * (a QEMU dump without -device vmcoreinfo): the kernel keeps it in a zeroed
 * page that starts with "OSRELEASE=" (kernel/crash_core.c vmcoreinfo_data).
 */
export function scanForVmcoreinfo(
  ranges: Array<[number, number]>,
  readPage: (paddr: number) => Buffer | null,
  pageSize = 4096,
): string | null {
  const magic = Buffer.from('OSRELEASE=');
  for (const [start, end] of ranges) {
    for (let p = Math.ceil(start / pageSize) * pageSize; p + pageSize <= end; p += pageSize) {
      const page = readPage(p);
      if (!page || page[0] !== 0x4f || !page.subarray(0, magic.length).equals(magic)) continue;
      const nul = page.indexOf(0);
      const text = page.subarray(0, nul < 0 ? page.length : nul).toString('latin1');
      if (text.includes('SYMBOL(swapper_pg_dir)=') || text.includes('PAGESIZE=')) return text;
    }
  }
  return null;
}
