import { request as httpsRequest, Agent } from 'node:https';
import { request as httpRequest } from 'node:http';
import { sign, type KeyLike } from 'node:crypto';

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A compact JWS: RS256 (PKCS#1 v1.5) or ES256 (the raw r||s signature JOSE wants, not DER). */
export const signJwt = (header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyLike, algorithm: 'RS256' | 'ES256'): string => {
  const input = `${b64url(JSON.stringify({ ...header, alg: algorithm, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  const signature =
    algorithm === 'RS256' ? sign('sha256', Buffer.from(input), key) : sign('sha256', Buffer.from(input), { key: key as string, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
};

/** `Retry-After` is seconds or an HTTP date; undefined when absent or unreadable. */
export const retryAfterMs = (value: string | string[] | undefined, now = Date.now()): number | undefined => {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
};

export type HttpReply = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** One keep-alive agent per provider; `ca` adds trusted roots (a private gateway, a test server). */
export const httpsAgent = (ca: string | undefined) => new Agent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) });

/** A small HTTP(S) client: node:https with the provider's agent, a timeout, and the body read as text. */
export const send = (
  url: string,
  options: { method: string; headers: Record<string, string>; body?: string; agent?: Agent; timeoutMs?: number },
): Promise<HttpReply> =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = (target.protocol === 'http:' ? httpRequest : httpsRequest)(
      target,
      {
        method: options.method,
        headers: { ...options.headers, ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}) },
        ...(target.protocol === 'https:' && options.agent ? { agent: options.agent } : {}),
        timeout: options.timeoutMs ?? 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`request to ${target.host} timed out`)));
    request.on('error', reject);
    request.end(options.body);
  });

/** 429 and 5xx are worth another try; the caller decides how many. */
export const isTransient = (status: number) => status === 429 || status >= 500;
