import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

/** A span as a collector sees it, from OTLP/HTTP JSON. */
export type ReceivedSpan = {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
};

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };
type ExportRequest = {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ spans?: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string; kind: number; attributes?: KeyValue[] }> }>;
  }>;
};

const anyValue = (v: AnyValue): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue;
const attributes = (list: KeyValue[] = []) => Object.fromEntries(list.map(({ key, value }) => [key, anyValue(value)]));
/** OTLP JSON gives ids in hex; base64 is accepted too, as some encoders send it. */
const id = (value: string | undefined, bytes: number): string | undefined => {
  if (!value) return undefined;
  return new RegExp(`^[0-9a-f]{${bytes * 2}}$`, 'i').test(value) ? value.toLowerCase() : Buffer.from(value, 'base64').toString('hex');
};

/**
 * A tiny OTLP/HTTP trace receiver, as a collector would be: POST /v1/traces with the JSON encoding
 * (what @opentelemetry/exporter-trace-otlp-http sends), every span kept in memory for a test to read.
 */
export const startOtlpReceiver = async () => {
  const spans: ReceivedSpan[] = [];
  let requests = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces' || !String(request.headers['content-type']).startsWith('application/json')) {
        response.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = JSON.parse((request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')) as ExportRequest;
      requests++;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = attributes(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? []) {
            spans.push({
              name: span.name,
              traceId: id(span.traceId, 16)!,
              spanId: id(span.spanId, 8)!,
              parentSpanId: id(span.parentSpanId, 8),
              kind: span.kind,
              attributes: attributes(span.attributes),
              resource,
            });
          }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** The span and its ancestors, child first, as far as the received spans reach. */
export const ancestry = <S extends { spanId: string; parentSpanId: string | undefined }>(spans: readonly S[], span: S): S[] => {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chain = [span];
  for (let parent = span.parentSpanId && byId.get(span.parentSpanId); parent; parent = parent.parentSpanId && byId.get(parent.parentSpanId)) chain.push(parent);
  return chain;
};
