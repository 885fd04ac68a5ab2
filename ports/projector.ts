import type { RecordedEvent } from './event-store.ts';
import type { NatterEvent } from '../contracts/events.ts';

/** An event as projectors and reactors see it: one of Natter's events, with its stream, revision and position. */
export type Recorded = RecordedEvent<NatterEvent>;

/** Builds a read model. `handle` must be idempotent: input is at-least-once. */
export type Projector = { name: string; handle(events: Recorded[]): Promise<void>; reset(): Promise<void> };

/** Reacts to events after every projector has applied them (fan-out, push); keeps no checkpoint. */
export type Reactor = {
  name: string;
  react(events: Recorded[]): void | Promise<void>;
  /**
   * The partitions this process applies were assigned anew (a consumer group rebalance): what it
   * cached about conversations may have changed meanwhile on another process, unseen here.
   */
  reassigned?(): void;
};

/**
 * The relay's `$watermark` record (adapters/kafka/relay.ts): not one of Natter's events, no read
 * model holds it; it only tells the watermarks how far its partition has been relayed.
 */
export const isWatermark = (event: Recorded): boolean => (event.type as string) === '$watermark';

export type ProjectionLog = { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };

/** What a running projection runtime (in process, or a Kafka consumer group) tells its readers. */
export type ProjectionRuntime = {
  /** Position through which every projector has applied the log. */
  position(): number;
  /** Resolves once every projector has applied the log through `position`. */
  caughtUp(position: number): Promise<void>;
  stop(): Promise<void>;
};
