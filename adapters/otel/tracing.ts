import { context, defaultTextMapGetter, defaultTextMapSetter, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { SpanKind as Kind, SpanOptions, TraceCarrier, Tracing } from '../../ports/tracing.ts';

export type OtelTracingOptions = {
  serviceName: string;
  /** What the process is (gateway, relay, projector, embedded): a resource attribute on every span. */
  role: string;
  /** Which one of its role (a gateway's id): `service.instance.id`. */
  instance?: string;
  /** OTLP/HTTP base URL (spans go to `<endpoint>/v1/traces`, JSON). Ignored when `exporter` is given. */
  endpoint?: string;
  exportDelayMs?: number;
  /** A caller's exporter (tests: an InMemorySpanExporter), exported span by span. */
  exporter?: SpanExporter;
};

const kinds: Record<Kind, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};
const propagator = new W3CTraceContextPropagator();

// The async context follows a span through awaits, timers and callbacks; one manager per process,
// shared by every tracer in it (a test may build several).
let contextManager: AsyncLocalStorageContextManager | undefined;
const ensureContextManager = () => {
  if (contextManager) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
};

const carrierOf = (ctx: Context): TraceCarrier | undefined => {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, defaultTextMapSetter);
  return carrier.traceparent ? (carrier as TraceCarrier) : undefined;
};

/** A remote parent replaces the active span; without one the active context is the parent. */
const parentOf = (parent: TraceCarrier | undefined): Context =>
  parent ? propagator.extract(context.active(), parent, defaultTextMapGetter) : context.active();

const failed = (span: Span, error: unknown) => {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
};

/**
 * Tracing on OpenTelemetry: a tracer provider of its own (not registered globally, so several can
 * live in one test process), W3C trace context for every carrier, and OTLP/HTTP JSON export in
 * batches (or a given exporter, span by span).
 */
export const createOtelTracing = (options: OtelTracingOptions): Tracing => {
  ensureContextManager();
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: `${options.endpoint ?? 'http://127.0.0.1:4318'}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      'natter.role': options.role,
      ...(options.instance ? { 'service.instance.id': options.instance } : {}),
    }),
    spanProcessors: [
      options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter, { scheduledDelayMillis: options.exportDelayMs ?? 5_000 }),
    ],
  });
  const tracer = provider.getTracer('natter');

  return {
    enabled: true,
    start: (name, spanOptions: SpanOptions = {}) => {
      const parent = parentOf(spanOptions.parent);
      const span = tracer.startSpan(name, { kind: kinds[spanOptions.kind ?? 'internal'], attributes: spanOptions.attributes }, parent);
      return {
        carrier: carrierOf(trace.setSpan(parent, span)),
        end: (error) => {
          if (error !== undefined) failed(span, error);
          span.end();
        },
      };
    },
    active: (name, spanOptions, fn) =>
      tracer.startActiveSpan(
        name,
        { kind: kinds[spanOptions.kind ?? 'internal'], attributes: spanOptions.attributes },
        parentOf(spanOptions.parent),
        (span) => {
          try {
            const result = fn();
            if (result instanceof Promise) {
              return result.then(
                (value) => {
                  span.end();
                  return value;
                },
                (error: unknown) => {
                  failed(span, error);
                  span.end();
                  throw error;
                },
              ) as typeof result;
            }
            span.end();
            return result;
          } catch (error) {
            failed(span, error);
            span.end();
            throw error;
          }
        },
      ),
    current: () => (trace.getSpan(context.active()) ? carrierOf(context.active()) : undefined),
    shutdown: () => provider.shutdown(),
  };
};
