/**
 * How the fan-out reaches devices. Embedded: the in-process gateway's socket registry. Cluster: a
 * publish per gateway that holds a target device. `json` is serialized once per event, whatever
 * the number of recipients.
 */
export type Outbound = {
  /** Only `message` frames (messages, their edits, deletes and reactions) are ordered against `sync`; `ephemeral` ones (typing, presence) are never stored. */
  kind: 'message' | 'status' | 'conversation' | 'ephemeral' | 'close';
  json: string;
  /** `close`: the devices' sockets are closed, `json` being the reason (an erased user's). */
  /** Global position of the event behind the frame, for ordering against `sync`; 0 for ephemeral frames. */
  position: number;
};

export interface Delivery {
  deliver(userIds: readonly string[], frame: Outbound): void;
}
