import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metrics } from '../../ports/metrics.ts';

// Sub-millisecond to seconds: acks and deliveries on loopback take ~1 ms, a stalled disk seconds.
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A registry per process; `lag()` is read at scrape time, so it costs nothing between scrapes. */
export const createPrometheusMetrics = (options: { lag(): Promise<number> }) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const framesIn = new Counter({ name: 'natter_frames_in_total', help: 'Client frames received, by type', labelNames: ['type'], registers: [registry] });
  const framesOut = new Counter({ name: 'natter_frames_out_total', help: 'Frames pushed to devices', registers: [registry] });
  const acks = new Counter({ name: 'natter_acks_total', help: 'Messages acknowledged after a durable append', registers: [registry] });
  const errors = new Counter({ name: 'natter_errors_total', help: 'Errors answered, by code', labelNames: ['code'], registers: [registry] });
  const sockets = new Gauge({ name: 'natter_open_sockets', help: 'Open WebSocket connections', registers: [registry] });
  const closed = new Counter({ name: 'natter_sockets_closed_total', help: 'Closed sockets, by reason', labelNames: ['reason'], registers: [registry] });
  const append = new Histogram({
    name: 'natter_append_seconds',
    help: 'Event-store append latency (includes the group commit)',
    buckets: latencyBuckets,
    registers: [registry],
  });
  const delivery = new Histogram({
    name: 'natter_delivery_seconds',
    help: 'From acceptance of a message to its push to member devices',
    buckets: latencyBuckets,
    registers: [registry],
  });
  const presence = new Counter({ name: 'natter_presence_updates_total', help: 'Presence changes broadcast', registers: [registry] });
  const limited = new Counter({
    name: 'natter_rate_limited_total',
    help: 'Requests refused by a rate limit, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const conflicts = new Counter({
    name: 'natter_append_conflicts_total',
    help: 'Appends that lost a race on a conversation revision and were decided again',
    registers: [registry],
  });
  const routed = new Counter({
    name: 'natter_commands_routed_total',
    help: 'Conversation commands by where they ran: local (owner), forwarded (to the owner), fallback (owner unreachable)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const missingKeys = new Counter({
    name: 'natter_content_keys_missing_total',
    help: 'Sealed content read without its data key although its author was not erased (lost content)',
    registers: [registry],
  });
  new Gauge({
    name: 'natter_projector_lag_events',
    help: 'Events in the log not yet applied by every projector',
    registers: [registry],
    async collect() {
      this.set(await options.lag());
    },
  });

  const metrics: Metrics = {
    frameIn: (type) => framesIn.inc({ type }),
    framesOut: (count) => framesOut.inc(count),
    ack: () => acks.inc(),
    error: (code) => errors.inc({ code }),
    socketOpened: () => sockets.inc(),
    socketClosed: (reason) => {
      sockets.dec();
      closed.inc({ reason });
    },
    appendSeconds: (s) => append.observe(s),
    deliverySeconds: (s) => delivery.observe(s),
    presenceUpdate: () => presence.inc(),
    rateLimited: (kind) => limited.inc({ kind }),
    appendConflict: () => conflicts.inc(),
    commandRouted: (outcome) => routed.inc({ outcome }),
    contentKeyMissing: () => missingKeys.inc(),
  };
  return { metrics, registry };
};
