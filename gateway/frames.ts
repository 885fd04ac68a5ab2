import { isUtf8 } from 'node:buffer';
import { Compile } from 'typebox/compile';
import type { RawData } from 'ws';
import { hasIllFormedString } from '../contracts/well-formed.ts';
import { clientFrames, type ClientFrame, type ClientFrameType, type ErrorFrame } from '../contracts/frames.ts';

const validators = Object.fromEntries(Object.entries(clientFrames).map(([type, schema]) => [type, Compile(schema)])) as {
  [K in ClientFrameType]: ReturnType<typeof Compile>;
};

export type Parsed = { ok: true; frame: ClientFrame } | { ok: false; error: ErrorFrame };

/** What names the request in its error frame, when the frame carried it (and it is short enough to echo). */
type Echo = { client_msg_id?: unknown; request_id?: unknown };

const fail = (code: string, message: string, echo: Echo = {}): Parsed => ({
  ok: false,
  error: {
    type: 'error',
    code,
    message,
    ...(typeof echo.client_msg_id === 'string' && echo.client_msg_id.length <= 128 ? { client_msg_id: echo.client_msg_id } : {}),
    ...(typeof echo.request_id === 'string' && echo.request_id.length <= 64 ? { request_id: echo.request_id } : {}),
  },
});

// A text frame arrives as one Buffer: read it in place (Buffer.from(buffer) would copy it).
const toBuffer = (data: RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

/** Parses and validates one client frame; every failure is an error frame, never an exception. */
export const parseFrame = (data: RawData, isBinary: boolean): Parsed => {
  if (isBinary) return fail('invalid_frame', 'frames must be JSON text frames');
  const bytes = toBuffer(data);
  if (!isUtf8(bytes)) return fail('invalid_frame', 'frame is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return fail('invalid_json', 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('invalid_frame', 'a frame is a JSON object with a "type"');
  const { type, client_msg_id, request_id } = value as { type?: unknown } & Echo;
  const echo = { client_msg_id, request_id };
  if (typeof type !== 'string' || !Object.hasOwn(validators, type)) {
    return fail('invalid_frame', `unknown frame type ${JSON.stringify(type)?.slice(0, 40)}; expected one of ${Object.keys(validators).join(', ')}`, echo);
  }
  const validator = validators[type as ClientFrameType];
  if (validator.Check(value)) {
    if (hasIllFormedString(value)) return fail('invalid_frame', 'strings must be well-formed Unicode (no lone surrogates)', echo);
    return { ok: true, frame: value as ClientFrame };
  }
  const first = [...validator.Errors(value)][0];
  const where = first?.instancePath ? `${first.instancePath.slice(1)}: ` : '';
  return fail('invalid_frame', `invalid ${type} frame: ${where}${first?.message ?? 'does not match the schema'}`, echo);
};
