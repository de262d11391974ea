// What a user asked that cannot be done as asked (a missing argument, a value out of range, an
// input that is not what the command reads): said as the user's to fix, in one line, never as
// vaat's "internal error".
export class UsageError extends Error {
  override name = 'UsageError';
}
