// What a user asked that cannot be done as asked (a missing argument, a value out of range, an
// input that is not what the command reads): said as the user's to fix, in one line, never as
// vaat's "internal error". And the parsers of numeric options: a value that is not a number in
// range is refused by Commander before anything runs ("option '--jobs <n>' argument 'abc' is
// invalid. …"), instead of going on as NaN, 0 or a negative count.

import { InvalidArgumentError } from 'commander';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
    return n;
  };
}

/** A number from 0 to 1 (a score, a threshold). */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('a number from 0 to 1');
  return n;
}
