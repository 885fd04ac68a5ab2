import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import S3rver from 's3rver';
import { S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { rest, tempDir } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { noisyPng, tinyPdf, upload, download } from '../support/media.ts';

describe('media in an S3-compatible bucket (s3rver on loopback)', () => {
  let s3: S3rver;
  let endpoint: string;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  before(async () => {
    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: tempDir('natter-s3-'),
      configureBuckets: [{ name: 'natter-media', configs: [] }],
    });
    const { port } = await s3.run();
    endpoint = `http://127.0.0.1:${port}`;
    // s3rver's fixed credentials, through the SDK's usual environment chain.
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  });
  const { server: natter } = useNatter(() => ({ NATTER_S3_BUCKET: 'natter-media', NATTER_S3_ENDPOINT: endpoint, NATTER_S3_PREFIX: 'media/' }));
  after(async () => {
    await s3.close();
    for (const [key, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('given uploads (one over the multipart part size), then the objects are in the bucket and come back whole and by range', async () => {
    const token = await natter.token('alice');
    const png = await noisyPng(320, 240);
    const image = await upload(natter.url, token, png, 'image/png');
    assert.equal(image.status, 201, JSON.stringify(image.body));
    assert.match(image.body.thumbnail, /^data:image\/webp;base64,/);
    const big = tinyPdf(9 * 1024 * 1024);
    const pdf = await upload(natter.url, token, big, 'application/pdf');
    assert.equal(pdf.status, 201, JSON.stringify(pdf.body));
    assert.equal(pdf.body.size, big.length);

    const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'natter-media', Prefix: 'media/' }));
    const keys = new Map((listed.Contents ?? []).map((o) => [o.Key, o.Size]));
    assert.equal(keys.get(`media/${image.body.media_id}`), png.length);
    assert.equal(keys.get(`media/${pdf.body.media_id}`), big.length);
    client.destroy();

    const whole = await download(natter.url, token, image.body.url);
    assert.ok(whole.bytes.equals(png));
    const range = await download(natter.url, token, pdf.body.url, { range: `bytes=${big.length - 100}-` });
    assert.equal(range.status, 206);
    assert.ok(range.bytes.equals(big.subarray(big.length - 100)));
    assert.equal((await download(natter.url, await natter.token('mallory'), pdf.body.url)).status, 404);
    const rejected = await upload(natter.url, token, Buffer.from('#!/bin/sh\nrm -rf /\n'), 'image/png');
    assert.equal(rejected.status, 415);
    assert.ok((await rest(natter.url, token).get('/v1/conversations')).status === 200);
  });
});
