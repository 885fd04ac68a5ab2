import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { Device } from '../support/ws-client.ts';
import { noisyPng, tinyPdf, upload, download } from '../support/media.ts';

const MAX = 300_000;

const filesUnder = (dir: string): string[] => {
  try {
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
  } catch {
    return [];
  }
};

describe('media: upload, thumbnails, media messages and access', () => {
  const { server: natter } = useNatter({ NATTER_MAX_MEDIA_BYTES: String(MAX) });
  let png: Buffer;
  before(async () => {
    png = await noisyPng(640, 480);
  });

  it('given an image (whatever type the client claims), then 201 with the sniffed type, its size and a thumbnail under 10 KB', async () => {
    const token = await natter.token('alice');
    const reply = await upload(natter.url, token, png, 'text/plain', 'holiday.png');
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    assert.equal(reply.body.content_type, 'image/png');
    assert.equal(reply.body.size, png.length);
    assert.equal(reply.body.url, `/v1/media/${reply.body.media_id}`);
    assert.equal(reply.body.width, 640);
    assert.equal(reply.body.height, 480);
    assert.match(reply.body.thumbnail, /^data:image\/webp;base64,/);
    const thumbnail = Buffer.from(reply.body.thumbnail.split(',')[1], 'base64');
    assert.ok(thumbnail.length < 10 * 1024, `thumbnail is ${thumbnail.length} bytes`);
    const meta = await sharp(thumbnail).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok(Math.max(meta.width!, meta.height!) <= 160);
    const pdf = await upload(natter.url, token, tinyPdf(), 'image/png');
    assert.equal(pdf.status, 201);
    assert.equal(pdf.body.content_type, 'application/pdf');
    assert.equal(pdf.body.thumbnail, undefined);
  });

  it('given bytes that are not an allowed format, then 415 whatever the claimed type; over the limit, 413; nothing is left on disk', async () => {
    const token = await natter.token('alice');
    const mediaDir = join(natter.dataDir, 'media');
    const before = filesUnder(mediaDir).length;
    for (const [bytes, claimed] of [
      [Buffer.from('<html><script>alert(1)</script></html>'), 'image/png'],
      [Buffer.from('just some text'), 'application/pdf'],
      [Buffer.from('PK\u0003\u0004 not really a zip'), 'image/jpeg'],
    ] as const) {
      const reply = await upload(natter.url, token, Buffer.from(bytes), claimed);
      assert.equal(reply.status, 415, String(bytes));
      assert.equal(reply.body.error.code, 'unsupported_media_type');
    }
    const big = await upload(natter.url, token, tinyPdf(MAX + 10), 'application/pdf');
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'payload_too_large');
    assert.equal(filesUnder(mediaDir).length, before, 'no partial files');
    const notMultipart = await rest(natter.url, token).post('/v1/media', { file: 'x' });
    assert.equal(notMultipart.status, 400);
    assert.equal((await upload(natter.url, 'bad-token', png)).status, 401);
  });

  it('given media, then its uploader downloads it whole and by ranges (206), with 416 outside it', async () => {
    const token = await natter.token('alice');
    const { body } = await upload(natter.url, token, png, 'image/png');
    const whole = await download(natter.url, token, body.url);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'image/png');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.ok(whole.bytes.equals(png));
    const first = await download(natter.url, token, body.url, { range: 'bytes=0-99' });
    assert.equal(first.status, 206);
    assert.equal(first.headers.get('content-range'), `bytes 0-99/${png.length}`);
    assert.ok(first.bytes.equals(png.subarray(0, 100)));
    const middle = await download(natter.url, token, body.url, { range: `bytes=1000-` });
    assert.equal(middle.status, 206);
    assert.ok(middle.bytes.equals(png.subarray(1000)));
    const tail = await download(natter.url, token, body.url, { range: 'bytes=-10' });
    assert.equal(tail.status, 206);
    assert.ok(tail.bytes.equals(png.subarray(png.length - 10)));
    const outside = await download(natter.url, token, body.url, { range: `bytes=${png.length}-` });
    assert.equal(outside.status, 416);
    assert.equal(outside.headers.get('content-range'), `bytes */${png.length}`);
  });

  it('given a media message, then members get the media reference (with its thumbnail) and may download it; everyone else gets 404', async () => {
    const [ta, tb, tc] = [await natter.token('alice'), await natter.token('bob'), await natter.token('carol')];
    const conv = (await rest(natter.url, ta).post('/v1/conversations', { type: 'direct', peer_id: 'bob' })).body.conversation_id;
    const { body: media } = await upload(natter.url, ta, png, 'image/png');
    const notYet = await download(natter.url, tb, media.url);
    assert.equal(notYet.status, 404, 'not shared yet');
    assert.equal(JSON.parse(String(notYet.bytes)).error.code, 'media_not_found');

    const bob = await Device.connect(natter.wsUrl, tb, 'phone');
    const alice = await Device.connect(natter.wsUrl, ta, 'laptop');
    // The client may echo the upload reply; the server rewrites it from its own record.
    alice.send({
      type: 'send_message',
      conversation_id: conv,
      client_msg_id: 'm-1',
      content_type: 'media',
      content: JSON.stringify({ ...media, size: 1, content_type: 'image/gif', caption: 'the view' }),
    });
    await alice.waitFor('ack', (f) => f.client_msg_id === 'm-1');
    const [frame] = await bob.waitFor('new_message', (f) => f.client_msg_id === 'm-1');
    assert.equal(frame!.content_type, 'media');
    const content = JSON.parse(frame!.content);
    assert.equal(content.media_id, media.media_id);
    assert.equal(content.content_type, 'image/png');
    assert.equal(content.size, png.length);
    assert.equal(content.thumbnail, media.thumbnail);
    assert.equal(content.caption, 'the view');
    const got = await download(natter.url, tb, content.url, { range: 'bytes=0-7' });
    assert.equal(got.status, 206);
    assert.ok(got.bytes.equals(png.subarray(0, 8)));
    assert.equal((await download(natter.url, tc, content.url)).status, 404, 'carol is not a member');
    assert.equal((await download(natter.url, tc, '/v1/media/doesnotexist')).status, 404);
    assert.equal((await download(natter.url, undefined, content.url)).status, 401);

    const inbox = await rest(natter.url, tb).get('/v1/conversations');
    assert.equal(inbox.body.items[0].last_message.preview, '[media]');
    await alice.close();
    await bob.close();
  });

  it('given a media message naming media its sender did not upload, or no media at all, then it is refused and nothing is appended', async () => {
    const [ta, tb] = [await natter.token('alice'), await natter.token('dora')];
    const conv = (await rest(natter.url, tb).post('/v1/conversations', { type: 'direct', peer_id: 'alice' })).body.conversation_id;
    const { body: alices } = await upload(natter.url, ta, png, 'image/png');
    const api = rest(natter.url, tb);
    const stolen = await api.post(`/v1/conversations/${conv}/messages`, {
      client_msg_id: 'd-1',
      content_type: 'media',
      content: JSON.stringify({ media_id: alices.media_id }),
    });
    assert.equal(stolen.status, 404);
    assert.equal(stolen.body.error.code, 'media_not_found');
    const missing = await api.post(`/v1/conversations/${conv}/messages`, {
      client_msg_id: 'd-2',
      content_type: 'media',
      content: JSON.stringify({ media_id: 'nope' }),
    });
    assert.equal(missing.body.error.code, 'media_not_found');
    for (const content of ['https://example.com/cat.png', JSON.stringify({ media_id: alices.media_id, extra: 1 }), '{}']) {
      const bad = await api.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'd-3', content_type: 'media', content });
      assert.equal(bad.status, 400, content);
      assert.equal(bad.body.error.code, 'invalid_request');
    }
    const dora = await Device.connect(natter.wsUrl, tb, 'phone');
    dora.send({
      type: 'send_message',
      conversation_id: conv,
      client_msg_id: 'd-4',
      content_type: 'media',
      content: JSON.stringify({ media_id: alices.media_id }),
    });
    const [error] = await dora.waitFor('error', (f) => f.client_msg_id === 'd-4');
    assert.equal(error!.code, 'media_not_found');
    assert.equal((await api.get(`/v1/conversations/${conv}/messages`)).body.items.length, 0);
    assert.equal((await download(natter.url, tb, alices.url)).status, 404);
    await dora.close();
  });
});
