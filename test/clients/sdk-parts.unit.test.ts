import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fullJitter } from '../../clients/sdk/backoff.ts';
import { Outbox } from '../../clients/sdk/outbox.ts';
import { newerCursor, socketUrl } from '../../clients/sdk/urls.ts';

describe('SDK parts', () => {
  it('full jitter stays below the capped exponential and can be zero', () => {
    const options = { baseMs: 100, capMs: 1_000 };
    assert.equal(fullJitter(0, options, () => 0), 0);
    assert.equal(fullJitter(2, options, () => 0.999), 399);
    assert.equal(fullJitter(30, options, () => 0.999), 999);
  });

  it('the outbox offers only the oldest unacked send of each conversation', () => {
    const outbox = new Outbox([
      { client_msg_id: 'a1', conversation_id: 'a', content: '1' },
      { client_msg_id: 'b1', conversation_id: 'b', content: '1' },
      { client_msg_id: 'a2', conversation_id: 'a', content: '2' },
    ]);
    assert.deepEqual(outbox.heads().map((e) => e.client_msg_id), ['a1', 'b1']);
    assert.equal(outbox.take('a1')?.content, '1');
    assert.equal(outbox.take('a1'), undefined, 'a second ack of the same send settles nothing');
    assert.deepEqual(outbox.heads().map((e) => e.client_msg_id), ['b1', 'a2']);
  });

  it('cursors compare as decimal numbers of any length', () => {
    assert.ok(newerCursor('10', '9'));
    assert.ok(!newerCursor('9', '10'));
    assert.ok(!newerCursor('12', '12'));
    assert.ok(newerCursor('1', undefined));
    assert.ok(newerCursor('90071992547409930', '90071992547409929'));
  });

  it('derives the socket URL from an http or ws base', () => {
    assert.equal(socketUrl('https://chat.example/', 'a b', 'pc'), 'wss://chat.example/v1/ws?token=a%20b&device_id=pc');
    assert.equal(socketUrl('ws://127.0.0.1:3000', 't', 'pc'), 'ws://127.0.0.1:3000/v1/ws?token=t&device_id=pc');
  });
});
