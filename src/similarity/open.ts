// Which store a --store value names: a PostgreSQL URL (postgres://…) is the
// shared store, anything else the embedded SQLite store's directory.

import type { Store } from './store.js';

export const isPgUrl = (spec: string) => /^postgres(ql)?:\/\//i.test(spec);

export async function openAnyStore(spec: string, opts: { notice?: (line: string) => void; indexDir?: string; mustExist?: boolean } = {}): Promise<Store> {
  if (isPgUrl(spec)) {
    const { PgStore } = await import('./postgres.js');
    return PgStore.open(spec, { notice: opts.notice, indexDir: opts.indexDir });
  }
  const { openSqliteStore } = await import('./sqlite.js');
  return openSqliteStore(spec, { notice: opts.notice, mustExist: opts.mustExist });
}
