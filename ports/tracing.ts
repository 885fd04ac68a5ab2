/**
 * Distributed tracing (README "Tracing"). One trace follows a message across processes: the socket
 * frame, the routed command, the append, the relay, Kafka, the projector and the delivery on the
 * receiving gateway. Between processes the context travels as a W3C trace context carrier: in the
 * event's metadata (through the log), in Kafka record headers, in the command bus request and in the
 * Redis delivery envelope.
 *
 * Off by default: `noTracing` is then the only implementation any code sees, every call is a plain
 * function call that allocates nothing, and the composition skips the tracing decorators entirely.
 * The OpenTelemetry adapter is adapters/otel/tracing.ts.
 */

/** The W3C trace context of a span, as it crosses a process boundary. */
export type TraceCarrier = { traceparent: string; tracestate?: string };

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export type SpanOptions = {
  kind?: SpanKind;
  /** The remote parent; without one, the span is a child of the active span (if any). */
  parent?: TraceCarrier | undefined;
  attributes?: Record<string, string | number | boolean>;
};

/** A started span that is not made active: its carrier goes into a record, a header or a frame. */
export type SpanHandle = {
  /** This span's context to send along (the parent's as it was when tracing is off). */
  readonly carrier: TraceCarrier | undefined;
  end(error?: unknown): void;
};

export interface Tracing {
  readonly enabled: boolean;
  /** Starts a span without making it active (for work that ends in another callback). */
  start(name: string, options?: SpanOptions): SpanHandle;
  /** Runs `fn` with a new span active (the async context follows it), ending the span when `fn` settles. */
  active<T>(name: string, options: SpanOptions, fn: () => T): T;
  /** The active span's carrier, if any: what a call leaving this process takes along. */
  current(): TraceCarrier | undefined;
  /** Flushes and stops the exporter. */
  shutdown(): Promise<void>;
}

const ended = (parent: TraceCarrier | undefined): SpanHandle => ({ carrier: parent, end: () => {} });

export const noTracing: Tracing = {
  enabled: false,
  start: (_name, options) => ended(options?.parent),
  active: (_name, _options, fn) => fn(),
  current: () => undefined,
  shutdown: async () => {},
};

/** The carrier stored in an event's metadata (or in any record), if it holds one. */
export const traceOf = (metadata: Record<string, unknown> | undefined): TraceCarrier | undefined => {
  const traceparent = metadata?.traceparent;
  if (typeof traceparent !== 'string') return undefined;
  const tracestate = metadata!.tracestate;
  return typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent };
};
