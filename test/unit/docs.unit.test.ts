import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { clientFrames, serverFrames } from '../../contracts/frames.ts';
import { startNatter, type Server } from '../support/natter.ts';

const checkedIn = (name: string) => JSON.parse(readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8'));
const plain = (schema: unknown) => JSON.parse(JSON.stringify(schema));

describe('the published API documents', () => {
  let server: Server;
  let openapi: any;
  let asyncapi: any;

  before(async () => {
    server = await startNatter();
    openapi = await (await fetch(`${server.url}/docs/json`)).json();
    asyncapi = await (await fetch(`${server.url}/asyncapi.json`)).json();
  });
  after(() => server.close());

  it('given the served OpenAPI document, then docs/openapi.json is the same (else run npm run docs)', () => {
    assert.deepEqual(checkedIn('openapi.json'), openapi, 'docs/openapi.json is out of date: run `npm run docs` and commit it');
  });

  it('given the served AsyncAPI document, then docs/asyncapi.json is the same (else run npm run docs)', () => {
    assert.deepEqual(checkedIn('asyncapi.json'), asyncapi, 'docs/asyncapi.json is out of date: run `npm run docs` and commit it');
  });

  it('given the frame registry, then every client frame is a receive operation and every server frame a send operation, with its schema', () => {
    for (const [side, action, frames] of [
      ['client', 'receive', clientFrames],
      ['server', 'send', serverFrames],
    ] as const) {
      for (const [type, schema] of Object.entries(frames)) {
        const operation = asyncapi.operations[`${action}_${type}`];
        assert.ok(operation, `${action}_${type} is documented`);
        assert.deepEqual(operation.messages, [{ $ref: `#/channels/socket/messages/${side}_${type}` }]);
        assert.deepEqual(asyncapi.components.messages[`${side}_${type}`].payload, plain(schema));
      }
    }
    assert.equal(Object.keys(asyncapi.operations).length, Object.keys(clientFrames).length + Object.keys(serverFrames).length);
  });

  it('given the OpenAPI document, then it is 3.1, leaves the socket to AsyncAPI and marks only public routes as needing no token', () => {
    assert.equal(openapi.openapi, '3.1.0');
    assert.equal(openapi.paths['/v1/ws'], undefined);
    assert.deepEqual(openapi.paths['/v1/auth/dev-token'].post.security, []);
    assert.equal(openapi.paths['/v1/conversations'].get.security, undefined, 'the global bearer requirement applies');
    assert.deepEqual(openapi.security, [{ bearer: [] }]);
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await fetch(`${server.url}/docs/`, { redirect: 'follow' });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /swagger/i);
  });
});
