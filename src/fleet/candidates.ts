// Candidates over HTTP: a worker's searches answered by the service's index
// (`vaat worker --candidates URL`; the service's POST /v1/candidates), so that
// workers keep no HNSW index of their own (src/similarity/remote-index.ts says
// what that saves). The wire format lives here, once, for both sides: the
// query vector as base64 of its little-endian float32 values, the answer as
// {seq, candidates: [{id, similarity}]}.

import { CandidatesUnavailable, type CandidateSource, type Nearest } from '../similarity/remote-index.js';

/** Most candidates one request may ask for. */
export const MAX_CANDIDATES = 200;
/** Largest encoded vector accepted (base64 of 4096 float32 values). */
export const MAX_VECTOR_CHARS = 4 * Math.ceil((4096 * 4) / 3);

export function encodeVector(v: Float32Array): string {
  const b = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i]!, i * 4);
  return b.toString('base64');
}

/** The vector a request sent, or a reason it is not one. */
export function decodeVector(s: string): Float32Array | string {
  const b = Buffer.from(s, 'base64');
  if (b.length === 0 || b.length % 4) return `a vector is base64 of float32 values: ${b.length} bytes decoded`;
  const v = new Float32Array(b.length / 4);
  for (let i = 0; i < v.length; i++) v[i] = b.readFloatLE(i * 4);
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return `component ${i} is not a finite number`;
  return v;
}

/** A configuration the service refuses (token, dimension): waiting does not help, the operator must act. */
export class CandidatesRefused extends Error {}

/**
 * The service at `base` as a candidate source. Network errors, timeouts and 5xx answers are
 * CandidatesUnavailable (the job waits and tries again); 4xx are CandidatesRefused.
 */
export function httpCandidates(base: string, token: string | null, timeoutMs = 5000): CandidateSource {
  const url = new URL('/v1/candidates', base).toString();
  return {
    name: base,
    async search(vector: Float32Array, k: number): Promise<Nearest> {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ vector: encodeVector(vector), k: Math.min(k, MAX_CANDIDATES) }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (e) {
        const err = e as Error & { cause?: { code?: string } };
        throw new CandidatesUnavailable(`candidate service ${base}: ${err.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : (err.cause?.code ?? err.message)}`);
      }
      const body = (await res.json().catch(() => null)) as (Nearest & { error?: string }) | null;
      if (res.status >= 500 || res.status === 429) throw new CandidatesUnavailable(`candidate service ${base}: ${res.status} ${body?.error ?? ''}`.trim());
      if (res.status !== 200 || !body || !Array.isArray(body.candidates) || typeof body.seq !== 'number') throw new CandidatesRefused(`candidate service ${base}: ${res.status} ${body?.error ?? 'not an answer of candidates'}`.trim());
      return { seq: body.seq, candidates: body.candidates };
    },
  };
}
