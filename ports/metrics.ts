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
}

export const noMetrics: Metrics = {
  frameIn() {}, framesOut() {}, ack() {}, error() {}, socketOpened() {}, socketClosed() {},
  appendSeconds() {}, deliverySeconds() {}, presenceUpdate() {}, rateLimited() {},
};
