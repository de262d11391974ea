// JSON output of command data: bigints become numbers when exact, else hex
// strings, so --json output parses anywhere.

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    return '0x' + BigInt.asUintN(64, value).toString(16);
  }
  return value;
}

export function toJson(data: unknown, pretty = true): string {
  return JSON.stringify(data, jsonReplacer, pretty ? 2 : undefined);
}
