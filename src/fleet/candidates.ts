// Candidates over HTTP: a worker's searches answered by the service's index
// (`vaat worker --candidates URL`; the service's POST /v1/candidates), so that
// workers keep no HNSW index of their own (src/similarity/remote-index.ts says
// what that saves). The wire format lives here, once, for both sides: the
// query vector as base64 of its little-endian float32 values, the answer as
// {seq, store, candidates: [{id, similarity}]} (store: the store's creation time, which the
// worker checks is its own store's).

import * as http from 'node:http';
import * as https from 'node:https';
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
 * The service at `base` as a candidate source, over kept-alive connections (node:http: fetch cost
 * the client 0.7–1.0 ms of CPU a request here, node:http 0.24–0.37 ms, 3,000 requests each against a
 * local Fastify). Network errors, timeouts and 5xx answers are CandidatesUnavailable (the job waits
 * and tries again); 4xx are CandidatesRefused.
 */
export function httpCandidates(base: string, token: string | null, timeoutMs = 5000): CandidateSource {
  const u = new URL('/v1/candidates', base);
  const client = u.protocol === 'https:' ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: 8 });
  const unavailable = (why: string) => new CandidatesUnavailable(`candidate service ${base}: ${why}`);
  return {
    name: base,
    search(vector: Float32Array, k: number): Promise<Nearest> {
      const body = JSON.stringify({ vector: encodeVector(vector), k: Math.min(k, MAX_CANDIDATES) });
      return new Promise<Nearest>((resolve, reject) => {
        const req = client.request(u, {
          agent, method: 'POST', timeout: timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(unavailable(e.message)));
          res.on('end', () => {
            let answer: (Nearest & { error?: string }) | null = null;
            try {
              answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              /* not JSON: said below */
            }
            const status = res.statusCode ?? 0;
            if (status >= 500 || status === 429) reject(unavailable(`${status} ${answer?.error ?? ''}`.trim()));
            else if (status !== 200 || !answer || !Array.isArray(answer.candidates) || typeof answer.seq !== 'number') reject(new CandidatesRefused(`candidate service ${base}: ${status} ${answer?.error ?? 'not an answer of candidates'}`.trim()));
            else resolve({ seq: answer.seq, store: answer.store ?? null, candidates: answer.candidates });
          });
        });
        req.on('timeout', () => req.destroy(unavailable(`no answer in ${timeoutMs} ms`)));
        req.on('error', (e: Error & { code?: string }) => reject(e instanceof CandidatesUnavailable ? e : unavailable(e.code ?? e.message)));
        req.end(body);
      });
    },
  };
}
