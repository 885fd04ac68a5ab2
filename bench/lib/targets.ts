// Proposed targets: where Natter should sit relative to its limits and peers on the same machine.
// They are the bench's proposals, to be revised by the team; the report marks each row met / not met.
import type { Target } from './report.ts';

const ge = (on: Target['on'], value: number): Target => ({ on, op: '>=', value });
const le = (on: Target['on'], value: number): Target => ({ on, op: '<=', value });

export const TARGETS = {
  /** acked msgs/s vs raw batched SQLite inserts at tx=100 (same fsync settings); issue #20 */
  durableVsRaw: ge('ratio', 0.5),
  /** open-loop ack p99 vs the cost of one fsync'd single-row transaction */
  durableAckP99VsFsync: le('ratio', 50),
  /** absolute: open-loop ack p99 (ms) */
  durableOpenP99Ms: le('natter', 50),
  /** send-to-receive p99 vs the bare ws relay (Natter persists before it pushes) */
  latencyVsWs: le('ratio', 20),
  /** send-to-receive p99 vs socket.io */
  latencyVsSocketIo: le('ratio', 10),
  /** deliveries/s at the offered fan-out load vs the ws relay */
  fanoutRateVsWs: ge('ratio', 0.9),
  fanoutRateVsSocketIo: ge('ratio', 0.9),
  /** delivery capacity under a burst vs the relays (Natter persists each message once, then fans out) */
  fanoutBurstVsWs: ge('ratio', 0.3),
  fanoutBurstVsSocketIo: ge('ratio', 0.5),
  /** time until the last member has a message, p99, vs the ws relay */
  fanoutLastP99VsWs: le('ratio', 20),
  /** RSS per idle socket at 10,000 vs the bare ws server; issue #20 */
  idleBytesVsWs: le('ratio', 1.2),
  /** absolute: projection replay throughput (events/s) */
  rebuildEventsPerS: ge('natter', 20_000),
  /** absolute: catch-up throughput (messages/s) */
  catchupMsgsPerS: ge('natter', 5_000),
  // cluster profile (cluster-latency, -durable, -fanout): "natter" is the cluster, the reference the embedded
  // profile measured in the same run. The latency and durable targets are issues #18's and #20's.
  /** cross-gateway send-to-receive p99 vs the embedded profile at the same rate (the fast path) */
  clusterLatencyP99VsEmbedded: le('ratio', 3),
  /** absolute: cross-gateway send-to-receive p99 (ms), seed 000's 200 ms */
  clusterLatencyP99Ms: le('natter', 200),
  /** acked msgs/s, sockets over 3 gateways, vs embedded */
  clusterDurableVsEmbedded: ge('ratio', 0.35),
  /** deliveries/s at the offered fan-out load vs embedded (keeps up with the offered load) */
  clusterFanoutRateVsEmbedded: ge('ratio', 0.9),
  /** time until the last member has a message, p99, vs embedded */
  clusterFanoutLastP99VsEmbedded: le('ratio', 20),
  /** gateway publishes per message vs the number of gateways holding members (one each) */
  clusterPublishesPerMessage: le('ratio', 1),
} satisfies Record<string, Target>;

/** Cross-gateway send-to-receive p50 at most this many ms above the embedded p50 of the same run (issue #18). */
export const clusterLatencyP50OverEmbedded = (embeddedP50Ms: number): Target => le('natter', Math.round((embeddedP50Ms + 3) * 10) / 10);
