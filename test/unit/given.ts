import assert from 'node:assert/strict';
import { isNatterError, type ErrorCode } from '../../contracts/errors.ts';
import type { ConversationCommand, MarkReceipt, React, UserCommand } from '../../contracts/commands.ts';
import type { ConversationEvent, ReactionEvent, ReceiptEvent, UserEvent } from '../../contracts/events.ts';
import { decideUser, evolveUser, initialSettings, type UserSettings } from '../../command-side/users/decider.ts';
import { decideReaction, evolveReactions, initialReactions, type Reactions } from '../../command-side/reactions/decider.ts';
import { decide, evolve, initialState, type Conversation } from '../../command-side/conversations/decider.ts';
import { decideReceipt, evolveReceipt, initialWatermarks, type Watermarks } from '../../command-side/receipts/decider.ts';

/**
 * Given/when/then for a decider: the state is the fold of `evolve` over `initialState()` and the
 * past events; `when` decides one command against it. Every outcome also checks that `decide`
 * left the state untouched (evolve may mutate, decide must not).
 */
export type Decider<C, E, S> = {
  initialState(): S;
  evolve(state: S, event: E): S;
  decide(command: C, state: S): E[];
};

export type Outcome<E> = {
  /** The command yields exactly these events, in this order. */
  then(expected: E[]): void;
  /** The command is refused with a NatterError of this code. */
  thenThrows(code: ErrorCode): void;
  /** The command is accepted and changes nothing (an idempotent retry, a no-op). */
  thenNothing(): void;
  /** The events the command yields, for assertions on parts of them. */
  events(): E[];
};

export const makeGiven =
  <C, E, S>(decider: Decider<C, E, S>) =>
  (history: E[] = []) => ({
    when(command: C): Outcome<E> {
      const state = history.reduce((s, e) => decider.evolve(s, e), decider.initialState());
      const run = (): E[] => {
        const before = structuredClone(state);
        try {
          return decider.decide(command, state);
        } finally {
          assert.deepEqual(structuredClone(state), before, 'decide must not change the state');
        }
      };
      return {
        then(expected) {
          assert.deepEqual(run(), expected);
        },
        thenThrows(code) {
          assert.throws(run, (error: unknown) => {
            assert.ok(isNatterError(error), `expected a NatterError, got ${String(error)}`);
            assert.equal(error.code, code);
            return true;
          });
        },
        thenNothing() {
          assert.deepEqual(run(), []);
        },
        events: run,
      };
    },
  });

/** The conversation decider: `given(events).when(command).then(events)`. */
export const given: (history?: ConversationEvent[]) => { when(command: ConversationCommand): Outcome<ConversationEvent> } = makeGiven<
  ConversationCommand,
  ConversationEvent,
  Conversation
>({ initialState, evolve, decide });

/** The receipt decider: the command carries the conversation's `last_seq`, decided with it. */
export type ReceiptCommand = MarkReceipt & { last_seq: number };
export const givenReceipts: (history?: ReceiptEvent[]) => { when(command: ReceiptCommand): Outcome<ReceiptEvent> } = makeGiven<
  ReceiptCommand,
  ReceiptEvent,
  Watermarks
>({ initialState: initialWatermarks, evolve: evolveReceipt, decide: decideReceipt });

/** The reaction decider: `givenReactions(conversationEvents, reactionEvents).when(react)`, ruled against the conversation. */
export const givenReactions = (conversation: ConversationEvent[], history: ReactionEvent[] = []) => {
  const state = conversation.reduce(evolve, initialState());
  return makeGiven<React, ReactionEvent, Reactions>({
    initialState: initialReactions,
    evolve: evolveReactions,
    decide: (command, reactions) => decideReaction(command, reactions, state),
  })(history);
};

/** The user-settings decider: a mute is ruled against the conversation given. */
export const givenUser = (history: UserEvent[] = [], conversation: ConversationEvent[] = []) => {
  const state = conversation.reduce(evolve, initialState());
  return makeGiven<UserCommand, UserEvent, UserSettings>({
    initialState: initialSettings,
    evolve: evolveUser,
    decide: (command, settings) => decideUser(command, settings, state),
  })(history);
};
