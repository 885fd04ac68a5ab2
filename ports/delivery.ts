/**
 * How the fan-out reaches devices. Embedded: the in-process gateway's socket registry. Cluster: a
 * publish per gateway that holds a target device. `json` is serialized once per event, whatever
 * the number of recipients.
 */
export type Outbound = {
  kind: 'message' | 'status' | 'conversation';
  json: string;
  /** Global position of the event behind the frame, for ordering against `sync`. */
  position: number;
};

export interface Delivery {
  deliver(userIds: readonly string[], frame: Outbound): void;
}
