import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allMessages } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import type { Frame } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';

const EDIT_WINDOW_S = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('messages after send: edit, delete, reactions, replies and mentions', () => {
  const { connect, as } = useNatter({ NATTER_EDIT_WINDOW_SECONDS: String(EDIT_WINDOW_S) });
  const group = async (owner: string, members: string[], title = 'team') =>
    (await (await as(owner)).post('/v1/conversations', { type: 'group', title, member_ids: members })).body.conversation_id as string;
  const post = async (user: string, conv: string, body: Record<string, unknown>) => {
    const reply = await (await as(user)).post(`/v1/conversations/${conv}/messages`, { client_msg_id: `k-${Math.random()}`, content: 'hello', ...body });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body.seq as number;
  };
  /** The message as history shows it, once the read models have caught up with `ready`. */
  const shown = async (user: string, conv: string, seq: number, ready: (m: any) => boolean = () => true) => {
    const client = await as(user);
    return (await eventually(
      async () => (await allMessages(client, conv)).find((m) => m.seq === seq),
      (m) => m !== undefined && ready(m),
    ))!;
  };

  it('edits a message over REST and the socket: every device of every member gets message_updated, history shows the new text', async () => {
    const conv = await group('ann', ['ben']);
    const [annPhone, annLaptop, benPhone] = [await connect('ann'), await connect('ann', 'laptop'), await connect('ben')];
    const seq = await post('ann', conv, { content: 'helo wrold' });
    const edited = await (await as('ann')).call('PATCH', `/v1/conversations/${conv}/messages/${seq}`, { content: 'hello world' });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.equal(edited.body.content, 'hello world');
    assert.equal(edited.body.seq, seq);
    assert.equal(typeof edited.body.edited_at, 'number');
    assert.equal(edited.body.deleted, false);
    for (const device of [annPhone, annLaptop, benPhone]) {
      const [frame] = await device.waitFor('message_updated', (f) => f.seq === seq && f.content === 'hello world');
      assert.equal(frame!.conversation_id, conv);
      assert.equal(frame!.edited_at, edited.body.edited_at);
      assert.equal(frame!.deleted, false);
      assert.match(frame!.cursor, /^[0-9]+$/);
    }
    annLaptop.send({ type: 'edit_message', conversation_id: conv, seq, content: 'hello, world', request_id: 'edit-2' });
    await annLaptop.waitFor('ok', (f) => f.request_id === 'edit-2');
    await benPhone.waitFor('message_updated', (f) => f.content === 'hello, world');
    const message = await shown('ben', conv, seq, (m) => m.content === 'hello, world');
    assert.ok(message.edited_at >= edited.body.edited_at);
    const inbox = (await (await as('ben')).get('/v1/conversations')).body.items.find((i: any) => i.conversation_id === conv);
    assert.equal(inbox.last_message.preview, 'hello, world', 'the inbox preview follows an edit of the last message');
  });

  it('refuses edits by others (403 forbidden), past the window (403 edit_window_closed), of media (400), of unknown seqs (404), and changes nothing', async () => {
    const conv = await group('cal', ['dee']);
    const seq = await post('cal', conv, { content: 'original' });
    const dee = await as('dee');
    const cal = await as('cal');
    const forbidden = await dee.call('PATCH', `/v1/conversations/${conv}/messages/${seq}`, { content: 'hijacked' });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error.code, 'forbidden');
    const unknown = await cal.call('PATCH', `/v1/conversations/${conv}/messages/999`, { content: 'x' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'message_not_found');
    const upload = await cal.call('PATCH', `/v1/conversations/${conv}/messages/0`, { content: 'x' });
    assert.equal(upload.status, 400, 'seq 0 is not a seq');
    await sleep(EDIT_WINDOW_S * 1000 + 300);
    const late = await cal.call('PATCH', `/v1/conversations/${conv}/messages/${seq}`, { content: 'too late' });
    assert.equal(late.status, 403);
    assert.equal(late.body.error.code, 'edit_window_closed');
    assert.equal((await shown('cal', conv, seq)).content, 'original');
    const device = await connect('dee');
    device.send({ type: 'edit_message', conversation_id: conv, seq, content: 'x', request_id: 'not-mine' });
    const [error] = await device.waitFor('error', (f) => f.request_id === 'not-mine');
    assert.equal(error!.code, 'forbidden');
    assert.equal(device.open, true);
  });

  it('deletes a message: 204 (again 204), seq kept, text, mentions and reactions gone from history, sync and the inbox', async () => {
    const conv = await group('eve', ['fay']);
    const fay = await connect('fay');
    const seq = await post('eve', conv, { content: 'secret-to-delete', mentions: ['fay'] });
    const eve = await as('eve');
    assert.equal((await eve.call('PUT', `/v1/conversations/${conv}/messages/${seq}/reactions/${encodeURIComponent('👍')}`)).status, 204);
    await shown('eve', conv, seq, (m) => m.reactions.length === 1);
    assert.equal((await eve.delete(`/v1/conversations/${conv}/messages/${seq}`)).status, 204);
    assert.equal((await eve.delete(`/v1/conversations/${conv}/messages/${seq}`)).status, 204, 'deleting again is 204');
    const [frame] = await fay.waitFor('message_updated', (f) => f.seq === seq && f.deleted === true);
    assert.equal(frame!.content, '');
    const message = await shown('fay', conv, seq, (m) => m.deleted);
    assert.deepEqual(
      { seq: message.seq, deleted: message.deleted, content: message.content, reactions: message.reactions, mentions: message.mentions },
      { seq, deleted: true, content: '', reactions: [], mentions: [] },
    );
    const inbox = (await (await as('fay')).get('/v1/conversations')).body;
    assert.ok(!JSON.stringify(inbox).includes('secret-to-delete'));
    assert.equal(inbox.items.find((i: any) => i.conversation_id === conv).unread_mentions, 0, 'a deleted mention is no longer unread');
    const synced = await (await connect('fay', 'tablet')).syncAll();
    assert.ok(!JSON.stringify(synced).includes('secret-to-delete'), 'sync hands out no deleted text');
    const gone = await eve.call('PATCH', `/v1/conversations/${conv}/messages/${seq}`, { content: 'back' });
    assert.equal(gone.status, 410);
    assert.equal(gone.body.error.code, 'message_deleted');
    const noReaction = await eve.call('PUT', `/v1/conversations/${conv}/messages/${seq}/reactions/${encodeURIComponent('🎉')}`);
    assert.equal(noReaction.status, 410);
    const other = await post('eve', conv, { content: 'not yours' });
    const notYours = await (await as('fay')).delete(`/v1/conversations/${conv}/messages/${other}`);
    assert.equal(notYours.status, 403, 'only the author or an admin deletes');
    assert.equal(notYours.body.error.code, 'forbidden');
    assert.equal((await (await as('fay')).delete(`/v1/conversations/${conv}/messages/999`)).status, 404);
  });

  it('adds and removes reactions idempotently, live to every device, summed in history', async () => {
    const conv = await group('gus', ['hal', 'ivy']);
    const [gus, hal] = [await connect('gus'), await connect('hal')];
    const seq = await post('gus', conv, { content: 'react to me' });
    const path = (emoji: string) => `/v1/conversations/${conv}/messages/${seq}/reactions/${encodeURIComponent(emoji)}`;
    for (const user of ['hal', 'ivy']) {
      const client = await as(user);
      assert.equal((await client.call('PUT', path('👍'))).status, 204);
      assert.equal((await client.call('PUT', path('👍'))).status, 204, 'idempotent');
    }
    hal.send({ type: 'react', conversation_id: conv, seq, emoji: '❤️', op: 'add', request_id: 'r1' });
    await hal.waitFor('ok', (f) => f.request_id === 'r1');
    await gus.waitFor('reaction', (f) => f.emoji === '❤️' && f.user_id === 'hal' && f.op === 'add');
    const frames = await gus.waitFor('reaction', (f) => f.emoji === '👍' && f.op === 'add', 2);
    assert.deepEqual(frames.map((f) => f.user_id).sort(), ['hal', 'ivy'], 'a repeated add sends nothing');
    let message = await shown('gus', conv, seq, (m) => m.reactions.length === 2);
    assert.deepEqual(message.reactions, [
      { emoji: '👍', count: 2, user_ids: ['hal', 'ivy'] },
      { emoji: '❤️', count: 1, user_ids: ['hal'] },
    ]);
    const ivy = await as('ivy');
    assert.equal((await ivy.call('DELETE', path('👍'))).status, 204);
    assert.equal((await ivy.call('DELETE', path('👍'))).status, 204, 'idempotent');
    await hal.waitFor('reaction', (f) => f.user_id === 'ivy' && f.op === 'remove');
    message = await shown('gus', conv, seq, (m) => m.reactions[0]?.count === 1);
    assert.deepEqual(message.reactions[0], { emoji: '👍', count: 1, user_ids: ['hal'] });
    for (const bad of ['a', 'thumbs', '👍👍', '%F0%9F']) {
      const reply = await ivy.call('PUT', `/v1/conversations/${conv}/messages/${seq}/reactions/${bad}`);
      assert.equal(reply.status, 400, `${bad}: ${JSON.stringify(reply.body)}`);
    }
    assert.equal((await ivy.call('PUT', `/v1/conversations/${conv}/messages/404/reactions/${encodeURIComponent('👍')}`)).status, 404);
  });

  it('threads replies under a message and counts them; mentions of members count as unread until read', async () => {
    const conv = await group('jo', ['kit', 'lu']);
    const root = await post('jo', conv, { content: 'thread root' });
    const first = await post('kit', conv, { content: 'first reply', reply_to_seq: root, mentions: ['lu'] });
    const second = await post('jo', conv, { content: 'second reply', reply_to_seq: root, mentions: ['lu', 'kit'] });
    const missing = await (await as('kit')).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'orphan', content: 'x', reply_to_seq: 999 });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'message_not_found');
    const stranger = await (await as('kit')).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'who', content: 'x', mentions: ['nobody-here'] });
    assert.equal(stranger.status, 400);
    const tooMany = await (await as('kit')).post(`/v1/conversations/${conv}/messages`, {
      client_msg_id: 'many',
      content: 'x',
      mentions: Array.from({ length: 51 }, (_, i) => `u${i}`),
    });
    assert.equal(tooMany.status, 400);
    const replies = await eventually(
      () => as('lu').then((c) => c.get(`/v1/conversations/${conv}/messages/${root}/replies`)),
      (r) => r.body.items?.length === 2,
    );
    assert.deepEqual(
      replies.body.items.map((m: any) => [m.seq, m.reply_to_seq]),
      [
        [first, root],
        [second, root],
      ],
    );
    const after = await (await as('lu')).get(`/v1/conversations/${conv}/messages/${root}/replies?after=${first}`);
    assert.deepEqual(
      after.body.items.map((m: any) => m.seq),
      [second],
    );
    assert.equal((await shown('lu', conv, root)).reply_count, 2);
    assert.deepEqual((await shown('lu', conv, second)).mentions, ['lu', 'kit']);
    const lu = await as('lu');
    const item = async () => (await lu.get('/v1/conversations')).body.items.find((i: any) => i.conversation_id === conv);
    assert.equal((await eventually(item, (i) => i?.unread_mentions === 2)).unread_mentions, 2);
    await lu.post(`/v1/conversations/${conv}/read`, { up_to_seq: first });
    assert.equal((await eventually(item, (i) => i?.unread_mentions === 1)).unread_mentions, 1);
    const stranger2 = await (await as('mo')).get(`/v1/conversations/${conv}/messages/${root}/replies`);
    assert.equal(stranger2.status, 404, 'a non-member learns nothing');
  });

  it('syncs a device that was away to exactly what history shows: the edits, deletes and reactions it missed come after the messages', async () => {
    const conv = await group('nia', ['oz']);
    const ozPhone = await connect('oz');
    const a = await post('nia', conv, { content: 'one' });
    const b = await post('nia', conv, { content: 'two' });
    await ozPhone.waitFor('new_message', (f) => f.seq === b);
    const cursor = ozPhone.of('new_message').at(-1)!.cursor as string;
    await ozPhone.close();
    const nia = await as('nia');
    const oz = await as('oz');
    assert.equal((await nia.call('PATCH', `/v1/conversations/${conv}/messages/${a}`, { content: 'one, edited' })).status, 200);
    assert.equal((await nia.delete(`/v1/conversations/${conv}/messages/${b}`)).status, 204);
    const c = await post('nia', conv, { content: 'three' });
    assert.equal((await oz.call('PUT', `/v1/conversations/${conv}/messages/${a}/reactions/${encodeURIComponent('🎉')}`)).status, 204);
    assert.equal((await nia.call('PATCH', `/v1/conversations/${conv}/messages/${c}`, { content: 'three, edited' })).status, 200);
    const history = await eventually(
      () => allMessages(oz, conv),
      (ms) => ms.find((m) => m.seq === a)?.reactions.length === 1 && ms.find((m) => m.seq === c)?.content === 'three, edited',
    );
    const back = await connect('oz', 'phone');
    const { messages, updates } = await back.syncAll(cursor);
    // Apply what sync sent, in order, to what the device had: it ends where history is.
    const state = new Map<number, Frame>([
      [a, { type: 'new_message', seq: a, content: 'one', deleted: false, reactions: [] }],
      [b, { type: 'new_message', seq: b, content: 'two', deleted: false, reactions: [] }],
    ]);
    const synced = back.frames.filter((f) => f.type === 'new_message' || f.type === 'message_updated');
    for (const frame of synced) state.set(frame.seq, { ...state.get(frame.seq)!, ...frame });
    for (const m of history) {
      const mine = state.get(m.seq)!;
      assert.deepEqual(
        { content: mine.content, deleted: mine.deleted, reactions: mine.reactions },
        { content: m.content, deleted: m.deleted, reactions: m.reactions },
        `seq ${m.seq}`,
      );
    }
    assert.equal(messages.filter((m) => m.seq === c).length, 1, 'the new message once, in its current state');
    // The cluster's cursors never pass what every partition has applied, so a device may get a message
    // it saw again (clients drop it by message_id); each change still comes, in order.
    for (const seq of [a, b]) assert.ok(updates.some((u) => u.seq === seq) || messages.some((m) => m.seq === seq), `the change of seq ${seq} came`);
    const positions = synced.map((f) => Number(f.cursor));
    assert.deepEqual(
      positions,
      [...positions].sort((x, y) => x - y),
      'in log order',
    );
  });

  it('answers bad input with a clear error and changes nothing', async () => {
    const conv = await group('pia', ['quin']);
    const seq = await post('pia', conv, { content: 'stable' });
    const pia = await as('pia');
    const huge = await pia.call('PATCH', `/v1/conversations/${conv}/messages/${seq}`, { content: 'x'.repeat(20_000) });
    assert.ok(huge.status === 400 || huge.status === 413, String(huge.status));
    for (const [method, path, body] of [
      ['PATCH', `/v1/conversations/${conv}/messages/-1`, { content: 'x' }],
      ['PATCH', `/v1/conversations/${conv}/messages/${seq}`, { content: '' }],
      ['PATCH', `/v1/conversations/${conv}/messages/${seq}`, { content: 'x', extra: 1 }],
      ['DELETE', `/v1/conversations/${conv}/messages/abc`, undefined],
      ['PUT', `/v1/conversations/${conv}/messages/${seq}/reactions/x`, undefined],
    ] as const) {
      const reply = await pia.call(method, path, body);
      assert.equal(reply.status, 400, `${method} ${path}: ${JSON.stringify(reply.body)}`);
      assert.equal(typeof reply.body.error.code, 'string');
    }
    const device = await connect('quin');
    for (const frame of [
      { type: 'edit_message', conversation_id: conv, seq: -1, content: 'x', request_id: 'neg' },
      { type: 'react', conversation_id: conv, seq, emoji: 'not-emoji', op: 'add', request_id: 'txt' },
      { type: 'react', conversation_id: conv, seq, emoji: '👍', op: 'toggle', request_id: 'op' },
      { type: 'delete_message', conversation_id: conv, seq, request_id: 'x'.repeat(65) },
    ]) {
      device.send(frame);
      await device.waitFor('error', () => true, device.of('error').length + 1);
    }
    assert.deepEqual(
      device.of('error').map((e) => e.request_id),
      ['neg', 'txt', 'op', undefined],
    );
    assert.equal(device.open, true, 'a bad frame never closes a healthy socket');
    const message = await shown('pia', conv, seq);
    assert.deepEqual(
      { content: message.content, deleted: message.deleted, reactions: message.reactions, edited_at: message.edited_at },
      { content: 'stable', deleted: false, reactions: [], edited_at: null },
    );
  });
});
