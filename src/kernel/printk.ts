// The kernel log from the dump. 5.10+ keeps it in the lockless printk
// ringbuffer (kernel/printk/printk_ringbuffer.c); everything needed to walk
// it is in VMCOREINFO (log_buf_vmcoreinfo_setup), as makedumpfile's
// dump_lockless_dmesg relies on. Level, facility and flags are bitfields of
// printk_info that VMCOREINFO does not describe: they come from BTF when the
// dump has it. Kernels 3.5–5.9 used the variable-length log_buf records,
// also described by VMCOREINFO.

import type { Program } from './program.js';
import { ProgramError } from './problems.js';
import { hex as hexStr } from '../dump/errors.js';
import { strip } from './types.js';

export interface LogRecord {
  seq: number;
  /** Nanoseconds since boot (local clock). */
  tsNsec: bigint;
  level: number | null;
  facility: number | null;
  /** printk_info.flags: LOG_NEWLINE 2, LOG_CONT 8. */
  flags: number | null;
  /** 'T123' (task) or 'C1' (CPU), when the kernel records callers (5.10+). */
  caller: string | null;
  text: string;
}

export interface LogResult {
  records: LogRecord[];
  format: 'lockless' | 'legacy';
  problems: string[];
}

const DESC_SV_BITS = 64n;
const DESC_FLAGS_SHIFT = DESC_SV_BITS - 2n;
const DESC_ID_MASK = (1n << DESC_FLAGS_SHIFT) - 1n;
const DESC_COMMITTED = 1n;
const DESC_FINALIZED = 2n;

/** Where the fields of a lockless ringbuffer sit (VMCOREINFO OFFSET/SIZE values). */
export interface LocklessLayout {
  descSize: number;
  descStateVar: number;
  descTextBlkLpos: number;
  lposBegin: number;
  lposNext: number;
  infoSize: number;
  infoSeq: number;
  infoTsNsec: number;
  infoTextLen: number;
  infoCallerId: number | undefined;
  /** Byte offset and bit position of the facility/flags/level bitfields, if known. */
  bitfields?: { facility?: [number, number, number]; flags?: [number, number, number]; level?: [number, number, number] };
}

/** Decode the records of a lockless ringbuffer from its three arrays (pure: no dump access). */
export function decodeLockless(
  L: LocklessLayout,
  descs: Buffer,
  infos: Buffer,
  data: Buffer,
  tailId: bigint,
  headId: bigint,
  problems: string[] = [],
): LogRecord[] {
  const count = Math.floor(descs.length / L.descSize);
  const size = BigInt(data.length);
  const out: LogRecord[] = [];
  if (count === 0) return out;
  const field = (b: Buffer, spec: [number, number, number] | undefined): number | null => {
    if (!spec) return null;
    const [byte, bit, width] = spec;
    return (b[byte]! >> bit) & ((1 << width) - 1);
  };
  let id = tailId & DESC_ID_MASK;
  const head = headId & DESC_ID_MASK;
  let walked = 0;
  let valid = 0;
  let inSequence = 0;
  let prevSeq: bigint | null = null;
  for (let n = 0; n <= count; n++) {
    walked++;
    const idx = Number(id % BigInt(count));
    const d = descs.subarray(idx * L.descSize, (idx + 1) * L.descSize);
    const sv = d.readBigUInt64LE(L.descStateVar);
    const state = sv >> DESC_FLAGS_SHIFT;
    if ((sv & DESC_ID_MASK) === id && (state === DESC_COMMITTED || state === DESC_FINALIZED)) {
      valid++;
      let begin = d.readBigUInt64LE(L.descTextBlkLpos + L.lposBegin);
      let next = d.readBigUInt64LE(L.descTextBlkLpos + L.lposNext);
      const info = infos.subarray(idx * L.infoSize, (idx + 1) * L.infoSize);
      const textLen = info.readUInt16LE(L.infoTextLen);
      let text = '';
      // Data-less blocks have bit 0 of begin set (LPOS_DATALESS); they carry no text.
      if ((begin & 1n) === 0n && begin !== next) {
        begin %= size;
        next %= size;
        if (begin > next) begin = 0n; // the block wrapped: its data starts at the beginning
        begin += 8n; // each block starts with its descriptor id (unsigned long)
        let len = Number(next - begin);
        if (len < 0) len = 0;
        if (len > textLen) len = textLen;
        text = data.toString('latin1', Number(begin), Number(begin) + len);
      }
      const callerRaw = L.infoCallerId !== undefined ? info.readUInt32LE(L.infoCallerId) : null;
      const seq = info.readBigUInt64LE(L.infoSeq);
      if (prevSeq !== null && seq === prevSeq + 1n) inSequence++;
      prevSeq = seq;
      out.push({
        seq: Number(seq),
        tsNsec: info.readBigUInt64LE(L.infoTsNsec),
        level: field(info, L.bitfields?.level),
        facility: field(info, L.bitfields?.facility),
        flags: field(info, L.bitfields?.flags),
        caller: callerRaw === null ? null : callerRaw & 0x80000000 ? `C${callerRaw & 0x7fffffff}` : `T${callerRaw}`,
        text,
      });
    }
    if (id === head) break;
    id = (id + 1n) & DESC_ID_MASK;
    if (n === count) problems.push('printk ring: head id not reached after a full pass (torn descriptor ring)');
  }
  // A ring whose descriptors mostly fail their own id check was read with a wrong layout (or is torn).
  if (walked > 4 && valid * 2 < walked) problems.push(`printk ring: only ${valid} of ${walked} descriptors between tail and head are valid (VMCOREINFO printk layout wrong, or the ring is torn)`);
  // Records follow each other by sequence number; info records read with a wrong size or offset do not.
  if (out.length > 4 && inSequence * 2 < out.length - 1) problems.push(`printk ring: only ${inSequence} of ${out.length - 1} records follow their predecessor's sequence number (VMCOREINFO printk_info layout wrong?)`);
  return out;
}

/** Decode the 3.5–5.9 log_buf: records {u64 ts_nsec; u16 len, text_len, dict_len; u8 facility; u8 flags:5, level:3; ...}. */
export function decodeLegacy(
  buf: Buffer,
  firstIdx: number,
  nextIdx: number,
  L: { hdrSize: number; tsNsec: number; len: number; textLen: number; callerId?: number },
  problems: string[] = [],
): LogRecord[] {
  const out: LogRecord[] = [];
  let idx = firstIdx;
  let wrapped = false;
  for (let n = 0; n < 1 << 22 && idx !== nextIdx; n++) {
    if (idx + L.hdrSize > buf.length) {
      if (wrapped) break;
      idx = 0;
      wrapped = true;
      continue;
    }
    const len = buf.readUInt16LE(idx + L.len);
    if (len === 0) {
      // A zero-length record marks the wrap to the start of the buffer.
      if (wrapped) break;
      idx = 0;
      wrapped = true;
      continue;
    }
    if (idx + len > buf.length || len < L.hdrSize) {
      problems.push(`log_buf: bad record length ${len} at index ${idx}`);
      break;
    }
    const textLen = Math.min(buf.readUInt16LE(idx + L.textLen), len - L.hdrSize);
    const lvlByte = buf[idx + L.textLen + 5]!; // flags:5, level:3 follow dict_len and facility
    const caller = L.callerId !== undefined ? buf.readUInt32LE(idx + L.callerId) : null;
    out.push({
      seq: out.length,
      tsNsec: buf.readBigUInt64LE(idx + L.tsNsec),
      level: lvlByte >> 5,
      facility: buf[idx + L.textLen + 4]!,
      flags: lvlByte & 0x1f,
      caller: caller === null ? null : caller & 0x80000000 ? `C${caller & 0x7fffffff}` : `T${caller}`,
      text: buf.toString('latin1', idx + L.hdrSize, idx + L.hdrSize + textLen),
    });
    idx += len;
  }
  return out;
}

/** Byte/bit position of a printk_info bitfield from BTF. */
function bitfieldOf(prog: Program, name: string): [number, number, number] | undefined {
  const t = prog.btf?.find('printk_info', 'struct');
  if (!t) return undefined;
  const s = strip(t);
  if (s.kind !== 'struct') return undefined;
  const m = s.members.find((x) => x.name === name);
  if (!m) return undefined;
  const width = m.bitSize || 8;
  return [Math.floor(m.bitOffset / 8), m.bitOffset % 8, width];
}

/**
 * Read the kernel log of a dump. Levels, facilities and flags need BTF
 * (decoded on first use, ~0.3 s); `levels: false` skips them.
 */
export function readLog(prog: Program, opts: { levels?: boolean } = {}): LogResult {
  const withLevels = opts.levels ?? true;
  const vi = prog.vmcoreinfo;
  const problems: string[] = [];
  const prbSym = vi.symbol('prb');
  if (prbSym !== undefined) {
    const req = (v: number | undefined, what: string): number => {
      if (v === undefined) throw new ProgramError(`VMCOREINFO lacks ${what}: cannot decode the printk ringbuffer`);
      return v;
    };
    const prb = prog.readU64(prbSym);
    const descRing = prb + BigInt(req(vi.offset('printk_ringbuffer.desc_ring'), 'OFFSET(printk_ringbuffer.desc_ring)'));
    const textRing = prb + BigInt(req(vi.offset('printk_ringbuffer.text_data_ring'), 'OFFSET(printk_ringbuffer.text_data_ring)'));
    const counter = vi.offset('atomic_long_t.counter') ?? 0;
    const countBits = prog.readU32(descRing + BigInt(req(vi.offset('prb_desc_ring.count_bits'), 'OFFSET(prb_desc_ring.count_bits)')));
    const descsPtr = prog.readU64(descRing + BigInt(req(vi.offset('prb_desc_ring.descs'), 'OFFSET(prb_desc_ring.descs)')));
    const infosPtr = prog.readU64(descRing + BigInt(req(vi.offset('prb_desc_ring.infos'), 'OFFSET(prb_desc_ring.infos)')));
    const headId = prog.readU64(descRing + BigInt(req(vi.offset('prb_desc_ring.head_id'), 'OFFSET(prb_desc_ring.head_id)') + counter));
    const tailId = prog.readU64(descRing + BigInt(req(vi.offset('prb_desc_ring.tail_id'), 'OFFSET(prb_desc_ring.tail_id)') + counter));
    const sizeBits = prog.readU32(textRing + BigInt(req(vi.offset('prb_data_ring.size_bits'), 'OFFSET(prb_data_ring.size_bits)')));
    const dataPtr = prog.readU64(textRing + BigInt(req(vi.offset('prb_data_ring.data'), 'OFFSET(prb_data_ring.data)')));
    if (countBits > 24 || sizeBits > 31) throw new ProgramError(`printk ringbuffer header implausible (count_bits ${countBits}, size_bits ${sizeBits}) at ${hexStr(descRing)}`);
    const count = 1 << countBits;
    const L: LocklessLayout = {
      descSize: req(vi.size('prb_desc'), 'SIZE(prb_desc)'),
      descStateVar: req(vi.offset('prb_desc.state_var'), 'OFFSET(prb_desc.state_var)'),
      descTextBlkLpos: req(vi.offset('prb_desc.text_blk_lpos'), 'OFFSET(prb_desc.text_blk_lpos)'),
      lposBegin: req(vi.offset('prb_data_blk_lpos.begin'), 'OFFSET(prb_data_blk_lpos.begin)'),
      lposNext: req(vi.offset('prb_data_blk_lpos.next'), 'OFFSET(prb_data_blk_lpos.next)'),
      infoSize: req(vi.size('printk_info'), 'SIZE(printk_info)'),
      infoSeq: req(vi.offset('printk_info.seq'), 'OFFSET(printk_info.seq)'),
      infoTsNsec: req(vi.offset('printk_info.ts_nsec'), 'OFFSET(printk_info.ts_nsec)'),
      infoTextLen: req(vi.offset('printk_info.text_len'), 'OFFSET(printk_info.text_len)'),
      infoCallerId: vi.offset('printk_info.caller_id'),
      bitfields: withLevels ? { facility: bitfieldOf(prog, 'facility'), flags: bitfieldOf(prog, 'flags'), level: bitfieldOf(prog, 'level') } : {},
    };
    checkLayout(L);
    const descs = prog.read(descsPtr, count * L.descSize);
    const infos = prog.read(infosPtr, count * L.infoSize);
    const data = prog.read(dataPtr, 1 << sizeBits);
    return { records: decodeLockless(L, descs, infos, data, tailId, headId, problems), format: 'lockless', problems };
  }
  const logBuf = vi.symbol('log_buf');
  if (logBuf !== undefined) {
    const buf = prog.readU64(logBuf);
    const len = prog.readU32(vi.symbol('log_buf_len')!);
    const first = prog.readU32(vi.symbol('log_first_idx')!);
    const next = prog.readU32(vi.symbol('log_next_idx')!);
    const size = vi.size('printk_log') ?? vi.size('log');
    const o = (m: string) => vi.offset(`printk_log.${m}`) ?? vi.offset(`log.${m}`);
    if (size === undefined || o('ts_nsec') === undefined || o('len') === undefined || o('text_len') === undefined) {
      throw new ProgramError('VMCOREINFO lacks the printk_log layout');
    }
    const records = decodeLegacy(prog.read(buf, len), first, next, {
      hdrSize: size, tsNsec: o('ts_nsec')!, len: o('len')!, textLen: o('text_len')!, callerId: o('caller_id'),
    }, problems);
    return { records, format: 'legacy', problems };
  }
  throw new ProgramError(`${prog.vmcoreinfoWhere} names neither prb nor log_buf: no kernel log to read`);
}

/** Every field read from a descriptor or info record must lie inside it (VMCOREINFO may be damaged). */
function checkLayout(L: LocklessLayout): void {
  const bad: string[] = [];
  const within = (what: string, off: number, width: number, size: number) => {
    if (off + width > size) bad.push(`${what} ${off}+${width} > ${size}`);
  };
  if (L.descSize <= 0 || L.descSize > 4096) bad.push(`SIZE(prb_desc) ${L.descSize}`);
  if (L.infoSize <= 0 || L.infoSize > 4096) bad.push(`SIZE(printk_info) ${L.infoSize}`);
  within('OFFSET(prb_desc.state_var)', L.descStateVar, 8, L.descSize);
  within('OFFSET(prb_desc.text_blk_lpos)', L.descTextBlkLpos + Math.max(L.lposBegin, L.lposNext), 8, L.descSize);
  within('OFFSET(printk_info.seq)', L.infoSeq, 8, L.infoSize);
  within('OFFSET(printk_info.ts_nsec)', L.infoTsNsec, 8, L.infoSize);
  within('OFFSET(printk_info.text_len)', L.infoTextLen, 2, L.infoSize);
  if (L.infoCallerId !== undefined) within('OFFSET(printk_info.caller_id)', L.infoCallerId, 4, L.infoSize);
  if (bad.length) throw new ProgramError(`VMCOREINFO printk layout is impossible (${bad.join('; ')}): cannot decode the printk ringbuffer`);
}

/** crash's `log` timestamp: "[%5lu.%06lu]". */
export function formatTimestamp(tsNsec: bigint): string {
  const sec = tsNsec / 1000000000n;
  const usec = (tsNsec % 1000000000n) / 1000n;
  return `[${sec.toString().padStart(5, ' ')}.${usec.toString().padStart(6, '0')}]`;
}
