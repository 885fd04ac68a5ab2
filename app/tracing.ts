import type { Config } from './config.ts';
import type { EventStore, NewEvent } from '../ports/event-store.ts';
import type { LiveFeed } from '../ports/live-feed.ts';
import type { Delivery } from '../ports/delivery.ts';
import { noTracing, type TraceCarrier, type Tracing } from '../ports/tracing.ts';

/**
 * The configured tracing: the OpenTelemetry adapter when NATTER_OTEL_ENABLED, otherwise the no-op.
 * Imported only when enabled, so a server without tracing does not even load the SDK.
 */
export const openTracing = async (config: Config, role: string, instance?: string): Promise<Tracing> => {
  if (!config.tracing.enabled) return noTracing;
  const { createOtelTracing } = await import('../adapters/otel/tracing.ts');
  return createOtelTracing({
    serviceName: config.tracing.serviceName,
    role,
    ...(instance ? { instance } : {}),
    endpoint: config.tracing.endpoint,
    exportDelayMs: config.tracing.exportDelayMs,
  });
};

/**
 * The append span, and the two things that must be its children: the events' trace context in the
 * log (the relay and the projectors continue from it), and the fast path's publish right after the
 * append. The command side hands the live feed the very array it appended, so the append's span is
 * found by it. Applied only when tracing is on: with it off, neither wrapper exists.
 */
export const tracedAppends = (tracing: Tracing) => {
  const appendSpans = new WeakMap<readonly object[], TraceCarrier>();
  const eventStore = (store: EventStore): EventStore => ({
    appendToStream: (stream, events, options) =>
      tracing.active('natter.append', { kind: 'producer', attributes: { 'natter.stream': stream, 'natter.events': events.length } }, () => {
        const carrier = tracing.current();
        if (!carrier) return store.appendToStream(stream, events, options);
        appendSpans.set(events, carrier);
        const traced = events.map((event): NewEvent => ({ ...event, metadata: { ...event.metadata, ...carrier } }));
        return store.appendToStream(stream, traced, options);
      }),
    readStream: (stream, options) => store.readStream(stream, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options) => store.subscribeToAll(options),
    headPosition: () => store.headPosition(),
    close: () => store.close(),
  });
  const liveFeed = (feed: LiveFeed): LiveFeed => ({
    appended: (events, position, conversation) => {
      const parent = appendSpans.get(events);
      if (!parent) {
        feed.appended(events, position, conversation);
        return;
      }
      tracing.active(
        'natter.fastpath',
        { kind: 'producer', parent, attributes: { 'natter.conversation': conversation.conversation_id, 'natter.position': position } },
        () => feed.appended(events, position, conversation),
      );
    },
  });
  return { eventStore, liveFeed };
};

/**
 * Publishing a frame towards gateways (the cluster's Redis delivery): a producer span, child of the
 * frame's own context (the projector's event) or of the active span (the fast path), whose context
 * travels in the envelope. Frames outside any trace (presence, typing) go as they are.
 */
export const tracedPublish = (delivery: Delivery, tracing: Tracing): Delivery => ({
  deliver: (users, frame) => {
    const parent = frame.trace ?? tracing.current();
    if (!parent) {
      delivery.deliver(users, frame);
      return;
    }
    const span = tracing.start('natter.publish', { kind: 'producer', parent, attributes: { 'natter.frame': frame.kind, 'natter.users': users.length } });
    try {
      delivery.deliver(users, span.carrier ? { ...frame, trace: span.carrier } : frame);
      span.end();
    } catch (error) {
      span.end(error);
      throw error;
    }
  },
});

/** The last hop: a traced frame written to this gateway's sockets. */
export const tracedSockets = (delivery: Delivery, tracing: Tracing): Delivery => ({
  deliver: (users, frame) => {
    if (!frame.trace) {
      delivery.deliver(users, frame);
      return;
    }
    tracing.active('natter.deliver', { kind: 'consumer', parent: frame.trace, attributes: { 'natter.frame': frame.kind, 'natter.users': users.length } }, () =>
      delivery.deliver(users, frame),
    );
  },
});
