/** What the gateway and the projections report; the Prometheus adapter turns it into /metrics. */
export interface Metrics {
  frameIn(type: string): void;
  framesOut(count: number): void;
  ack(): void;
  error(code: string): void;
  socketOpened(): void;
  socketClosed(reason: string): void;
  appendSeconds(seconds: number): void;
  /** Time from a message's acceptance to its push to the devices of its members. */
  deliverySeconds(seconds: number): void;
  presenceUpdate(): void;
  rateLimited(kind: string): void;
  /** An append lost a race on a conversation's revision (another process wrote it first). */
  appendConflict(): void;
  /** Where a conversation command ran: here (owner), at its owner, or here because the owner was unreachable. */
  commandRouted(outcome: 'local' | 'forwarded' | 'fallback'): void;
  /** Sealed content whose data key is missing although its author was not erased: lost content, an error. */
  contentKeyMissing(): void;
}

export const noMetrics: Metrics = {
  frameIn() {},
  framesOut() {},
  ack() {},
  error() {},
  socketOpened() {},
  socketClosed() {},
  appendSeconds() {},
  deliverySeconds() {},
  presenceUpdate() {},
  rateLimited() {},
  appendConflict() {},
  commandRouted() {},
  contentKeyMissing() {},
};
