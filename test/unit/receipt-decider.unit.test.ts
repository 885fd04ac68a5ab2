import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ReceiptEvent } from '../../contracts/events.ts';
import { evolveReceipt, initialWatermarks } from '../../command-side/receipts/decider.ts';
import { givenReceipts, type ReceiptCommand } from './given.ts';

const ID = 'c-1';
const T0 = 1_700_000_000_000;

const read = (upTo: number, ts = T0): ReceiptEvent => ({ type: 'MessageRead', data: { conversation_id: ID, user_id: 'bob', up_to_seq: upTo, timestamp: ts } });
const delivered = (upTo: number, ts = T0): ReceiptEvent => ({
  type: 'MessageDelivered',
  data: { conversation_id: ID, user_id: 'bob', up_to_seq: upTo, timestamp: ts },
});
const markRead = (upTo: number, lastSeq: number): ReceiptCommand => ({
  type: 'MarkRead',
  conversation_id: ID,
  user_id: 'bob',
  up_to_seq: upTo,
  last_seq: lastSeq,
  timestamp: T0 + 1,
});
const markDelivered = (upTo: number, lastSeq: number): ReceiptCommand => ({
  type: 'MarkDelivered',
  conversation_id: ID,
  user_id: 'bob',
  up_to_seq: upTo,
  last_seq: lastSeq,
  timestamp: T0 + 1,
});

describe('receipt decider: read watermark', () => {
  it('given no receipts, when bob marks read up to 3 of 5, then he has read up to 3', () => {
    givenReceipts([])
      .when(markRead(3, 5))
      .then([read(3, T0 + 1)]);
  });

  it('given bob read up to 3, when he marks read up to 5, then the read watermark moves to 5', () => {
    givenReceipts([read(3)])
      .when(markRead(5, 5))
      .then([read(5, T0 + 1)]);
  });

  it('given no receipts, when bob marks read past the last message, then the mark is clamped to last_seq', () => {
    givenReceipts([])
      .when(markRead(99, 5))
      .then([read(5, T0 + 1)]);
  });

  it('given bob read up to 3, when he marks read up to 3 again, then nothing happens', () => {
    givenReceipts([read(3)])
      .when(markRead(3, 5))
      .thenNothing();
  });

  it('given bob read up to 3, when he marks read up to 2, then nothing happens', () => {
    givenReceipts([read(3)])
      .when(markRead(2, 5))
      .thenNothing();
  });

  it('given bob read everything, when he marks read past the last message, then nothing happens', () => {
    givenReceipts([read(5)])
      .when(markRead(9, 5))
      .thenNothing();
  });

  it('given an empty conversation, when bob marks read up to 4, then nothing happens', () => {
    givenReceipts([]).when(markRead(4, 0)).thenNothing();
  });

  it('given no receipts, when bob marks read up to 0, then nothing happens', () => {
    givenReceipts([]).when(markRead(0, 5)).thenNothing();
  });

  it('given bob had delivered up to 5, when he marks read up to 3, then he has read up to 3', () => {
    givenReceipts([delivered(5)])
      .when(markRead(3, 5))
      .then([read(3, T0 + 1)]);
  });
});

describe('receipt decider: delivered watermark', () => {
  it('given no receipts, when bob marks delivered up to 2 of 5, then delivery moves to 2', () => {
    givenReceipts([])
      .when(markDelivered(2, 5))
      .then([delivered(2, T0 + 1)]);
  });

  it('given bob had delivered up to 2, when he marks delivered up to 4, then delivery moves to 4', () => {
    givenReceipts([delivered(2)])
      .when(markDelivered(4, 5))
      .then([delivered(4, T0 + 1)]);
  });

  it('given no receipts, when bob marks delivered past the last message, then the mark is clamped to last_seq', () => {
    givenReceipts([])
      .when(markDelivered(42, 5))
      .then([delivered(5, T0 + 1)]);
  });

  it('given bob had delivered up to 4, when he marks delivered up to 4 or 3, then nothing happens', () => {
    givenReceipts([delivered(4)])
      .when(markDelivered(4, 5))
      .thenNothing();
    givenReceipts([delivered(4)])
      .when(markDelivered(3, 5))
      .thenNothing();
  });

  it('given bob read up to 4, when he marks delivered up to 3 or 4, then nothing happens (reading implied delivery)', () => {
    givenReceipts([read(4)])
      .when(markDelivered(3, 5))
      .thenNothing();
    givenReceipts([read(4)])
      .when(markDelivered(4, 5))
      .thenNothing();
  });

  it('given bob read up to 4, when he marks delivered up to 5, then delivery moves to 5', () => {
    givenReceipts([read(4)])
      .when(markDelivered(5, 5))
      .then([delivered(5, T0 + 1)]);
  });

  it('given bob had delivered everything, when he marks delivered past the last message, then nothing happens', () => {
    givenReceipts([delivered(5)])
      .when(markDelivered(8, 5))
      .thenNothing();
  });
});

describe('receipt decider: evolveReceipt', () => {
  it('a read implies delivery up to the same seq', () => {
    assert.deepEqual(evolveReceipt(initialWatermarks(), read(3)), { delivered_seq: 3, read_seq: 3 });
  });

  it('a delivery leaves the read watermark alone', () => {
    assert.deepEqual(evolveReceipt({ delivered_seq: 1, read_seq: 1 }, delivered(4)), { delivered_seq: 4, read_seq: 1 });
  });

  it('a lower read or delivery never moves a watermark back', () => {
    const state = { delivered_seq: 6, read_seq: 4 };
    assert.deepEqual(evolveReceipt(state, read(2)), state);
    assert.deepEqual(evolveReceipt(state, delivered(5)), state);
  });

  it('a read below the delivered watermark moves read only', () => {
    assert.deepEqual(evolveReceipt({ delivered_seq: 6, read_seq: 1 }, read(5)), { delivered_seq: 6, read_seq: 5 });
  });

  it('folds to the max of every mark, whatever their order', () => {
    const events = [read(2), delivered(7), read(5), delivered(3), read(4)];
    const forwards = events.reduce(evolveReceipt, initialWatermarks());
    const backwards = [...events].reverse().reduce(evolveReceipt, initialWatermarks());
    assert.deepEqual(forwards, { delivered_seq: 7, read_seq: 5 });
    assert.deepEqual(backwards, forwards);
  });
});
