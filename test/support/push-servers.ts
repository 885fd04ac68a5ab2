import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer, constants } from 'node:http2';
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, verify, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { TestCert } from './tls.ts';

export type Recorded = { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: Buffer; at: number };
export type Answer = { status: number; headers?: Record<string, string>; body?: unknown };
export type Responder = (request: Recorded) => Answer | Promise<Answer>;

/** A local push service: records every request, answers with `respond`, and lets a test wait for requests. */
export type ProtocolServer = {
  url: string;
  requests: Recorded[];
  respond: Responder;
  waitFor(count: number, match?: (r: Recorded) => boolean, timeoutMs?: number): Promise<Recorded[]>;
  close(): Promise<void>;
};

const recorder = () => {
  const requests: Recorded[] = [];
  let waiters: Array<() => void> = [];
  const record = (r: Recorded) => {
    requests.push(r);
    for (const w of waiters) w();
  };
  const waitFor = (count: number, match: (r: Recorded) => boolean = () => true, timeoutMs = 5_000) =>
    new Promise<Recorded[]>((resolve, reject) => {
      const check = () => {
        const found = requests.filter(match);
        if (found.length >= count) {
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== check);
          resolve(found);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        waiters = waiters.filter((w) => w !== check);
        reject(
          new Error(
            `timed out waiting for ${count} request(s); got ${requests.filter(match).length}: ${requests.map((r) => `${r.method} ${r.path}`).join(', ')}`,
          ),
        );
      }, timeoutMs);
      if (!check()) waiters.push(check);
    });
  return { requests, record, waitFor };
};

const encode = (answer: Answer) => (answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));

/** An HTTPS/1.1 server (FCM, the OAuth2 token endpoint, a Web Push service). */
export const startHttpsServer = async (tls: TestCert, respond: Responder): Promise<ProtocolServer> => {
  const { requests, record, waitFor } = recorder();
  const state = { respond };
  const server = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const r: Recorded = { method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      const answer = await state.respond(r);
      record(r);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(encode(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    waitFor,
    get respond() {
      return state.respond;
    },
    set respond(r: Responder) {
      state.respond = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/** An HTTP/2-only TLS server, as APNs is. */
export const startHttp2Server = async (tls: TestCert, respond: Responder): Promise<ProtocolServer> => {
  const { requests, record, waitFor } = recorder();
  const state = { respond };
  const server = createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: false });
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', async () => {
      const r: Recorded = {
        method: String(headers[constants.HTTP2_HEADER_METHOD]),
        path: String(headers[constants.HTTP2_HEADER_PATH]),
        headers: headers as Recorded['headers'],
        body: Buffer.concat(chunks),
        at: Date.now(),
      };
      const answer = await state.respond(r);
      record(r);
      stream.respond({ ':status': answer.status, 'apns-id': '00000000-0000-0000-0000-000000000000', ...answer.headers });
      stream.end(encode(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    waitFor,
    get respond() {
      return state.respond;
    },
    set respond(r: Responder) {
      state.respond = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
};

/** Splits and checks a compact JWS: the signature must verify with `key` (RS256 or ES256). */
export const verifyJwt = (token: string, key: KeyObject | string, algorithm: 'RS256' | 'ES256') => {
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) throw new Error(`not a JWT: ${token}`);
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  if (header.alg !== algorithm) throw new Error(`alg is ${String(header.alg)}, expected ${algorithm}`);
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    algorithm === 'ES256' ? { key: key as KeyObject, dsaEncoding: 'ieee-p1363' } : key,
    Buffer.from(s, 'base64url'),
  );
  if (!ok) throw new Error('JWT signature does not verify');
  return { header, claims };
};

/** An uncompressed P-256 point (65 bytes) as a public KeyObject. */
export const p256PublicKey = (raw: Buffer): KeyObject =>
  createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') },
    format: 'jwk',
  });

/** A browser's side of a push subscription: its ECDH key pair and auth secret, and the decryption of what arrives. */
export const webPushClient = (endpoint: string) => {
  const ecdh = createECDH('prime256v1');
  const publicKey = ecdh.generateKeys();
  const auth = Buffer.from(Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 0xff));
  return {
    subscription: { endpoint, keys: { p256dh: publicKey.toString('base64url'), auth: auth.toString('base64url') } },
    /** RFC 8291 / RFC 8188: decrypts an aes128gcm body with one record. */
    decrypt(body: Buffer): string {
      const salt = body.subarray(0, 16);
      const recordSize = body.readUInt32BE(16);
      const idLength = body[20]!;
      const serverPublic = body.subarray(21, 21 + idLength);
      const ciphertext = body.subarray(21 + idLength);
      if (ciphertext.length > recordSize) throw new Error('more than one record');
      const shared = ecdh.computeSecret(serverPublic);
      const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), publicKey, serverPublic]);
      const ikm = Buffer.from(hkdfSync('sha256', shared, auth, keyInfo, 32));
      const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
      const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
      const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
      decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
      const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
      // The last record ends with the delimiter 0x02, then zero padding.
      let end = padded.length - 1;
      while (end >= 0 && padded[end] === 0) end--;
      if (padded[end] !== 2) throw new Error('bad padding delimiter');
      return padded.subarray(0, end).toString('utf8');
    },
  };
};
