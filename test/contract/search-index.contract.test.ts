import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createSqliteReadModels } from '../../adapters/sqlite/read-models.ts';
import {
  connectOpenSearch,
  searchAlias,
  searchIndexName,
  pointSearchAlias,
  ensureSearchIndex,
  awaitSearchIndexStarted,
} from '../../adapters/opensearch/client.ts';
import { createOpenSearchSearchIndex } from '../../adapters/opensearch/search-index.ts';
import { parseQuery, snippetOf } from '../../projections/search/text.ts';
import { requireEngines } from '../support/engines.ts';
import { searchIndexContract } from './search-index.contract.ts';

const env = await requireEngines('opensearch');
const client = await connectOpenSearch(env.NATTER_OPENSEARCH_URL);
const prefixes: string[] = [];
const freshPrefix = () => {
  const prefix = `natter-test-${randomBytes(6).toString('hex')}`;
  prefixes.push(prefix);
  return prefix;
};
after(async () => {
  for (const prefix of prefixes) await client.indices.delete({ index: `${prefix}-messages-v*` }).catch(() => {});
  await client.close();
});

searchIndexContract('sqlite fts5', async () => {
  const readModels = createSqliteReadModels(join(mkdtempSync(join(tmpdir(), 'natter-search-')), 'readmodels.db'));
  return { index: readModels.search, refresh: async () => {}, close: () => readModels.close() };
});

searchIndexContract('opensearch', async () => {
  const prefix = freshPrefix();
  return {
    index: createOpenSearchSearchIndex({ client, prefix, version: 1 }),
    refresh: async () => {
      await client.indices.refresh({ index: searchIndexName(prefix, 1) }).catch(() => {});
    },
    close: async () => {},
  };
});

describe('search index: opensearch versions and alias', () => {
  const message = (seq: number, text: string) => ({
    op: 'message' as const,
    message: {
      conversation_id: 'c',
      seq,
      message_id: `m${seq}`,
      sender_id: 'ann',
      timestamp: seq,
      position: seq,
      content_type: 'text' as const,
      text,
      words: text.split(' '),
    },
  });

  it('given version 1 and a replayed version 2, then each version holds its own documents and the alias follows the switch', async () => {
    const prefix = freshPrefix();
    const [v1, v2] = [createOpenSearchSearchIndex({ client, prefix, version: 1 }), createOpenSearchSearchIndex({ client, prefix, version: 2 })];
    await v1.write([message(1, 'only one')]);
    await ensureSearchIndex(client, prefix, 2);
    await v2.write([message(2, 'only two')]);
    await client.indices.refresh({ index: `${prefix}-messages-v*` });
    const terms = parseQuery('only');
    assert.deepEqual(
      (await v1.search({ terms, conversationIds: ['c'], limit: 10 })).map((h) => h.seq),
      [1],
    );
    assert.deepEqual(
      (await v2.search({ terms, conversationIds: ['c'], limit: 10 })).map((h) => h.seq),
      [2],
    );
    const aliased = async () => Object.keys((await client.indices.getAlias({ name: searchAlias(prefix) })).body);
    assert.deepEqual(await aliased(), [searchIndexName(prefix, 1)], 'version 1 is created with the alias');
    await pointSearchAlias(client, prefix, 2);
    assert.deepEqual(await aliased(), [searchIndexName(prefix, 2)]);
  });

  it('given no index yet at a version, then a search finds nothing rather than failing', async () => {
    const index = createOpenSearchSearchIndex({ client, prefix: freshPrefix(), version: 7 });
    assert.deepEqual(await index.search({ terms: parseQuery('anything'), conversationIds: ['c'], limit: 5 }), []);
  });

  it('given another process creating the index, then searches meanwhile find nothing or the message, and never fail', async () => {
    // The shard starts tens of ms after the index exists; without the wait, about half the rounds saw a 503.
    const terms = parseQuery('zebracorn');
    for (let round = 0; round < 10; round++) {
      const prefix = freshPrefix();
      const [writer, reader] = [createOpenSearchSearchIndex({ client, prefix, version: 1 }), createOpenSearchSearchIndex({ client, prefix, version: 1 })];
      let written = false;
      const writing = writer.write([message(1, 'zebracorn')]).finally(() => {
        written = true;
      });
      while (!written) {
        const hits = await reader.search({ terms, conversationIds: ['c'], limit: 5 });
        assert.ok(hits.length <= 1, JSON.stringify(hits));
      }
      await writing;
    }
  });

  it('given an index that is gone by the time its shards are awaited, then the wait ends as unavailable (a 503), not as a bug', async () => {
    // The health API holds a missing index for 30 s, then answers 408.
    await assert.rejects(awaitSearchIndexStarted(client, searchIndexName(freshPrefix(), 1)), { code: 'unavailable' });
  });

  it('given an unreachable engine, then a search fails as unavailable (a 503), not as a bug', async () => {
    const { Client } = await import('@opensearch-project/opensearch');
    const dead = new Client({ node: 'http://127.0.0.1:1', maxRetries: 0, requestTimeout: 1_000 });
    const index = createOpenSearchSearchIndex({ client: dead, prefix: 'natter', version: 1 });
    await assert.rejects(index.search({ terms: parseQuery('x'), conversationIds: ['c'], limit: 5 }), { code: 'unavailable' });
    await dead.close();
  });
});

describe('search snippets', () => {
  const snippet = (text: string, q: string) => snippetOf(text, parseQuery(q));
  it('given a short text, then the snippet is the text with the matched words marked', () => {
    assert.equal(
      snippet('Un Café, deux cafés et un CAFE', 'cafe'),
      'Un <mark>Café</mark>, deux <mark>cafés</mark> et un <mark>CAFE</mark>',
      'the last word is a prefix',
    );
    assert.equal(snippet('Un Café, deux cafés et un CAFE', '"cafe"'), 'Un <mark>Café</mark>, deux cafés et un <mark>CAFE</mark>');
    assert.equal(snippet('hello helpful world', 'hel'), '<mark>hello</mark> <mark>helpful</mark> world');
  });
  it('given a long text, then the snippet is cut around the first match with ellipses', () => {
    const text = `${'lorem ipsum '.repeat(20)}the needle is here ${'dolor sit '.repeat(30)}`;
    const s = snippet(text, 'needle');
    assert.ok(s.startsWith('…') && s.endsWith('…'), s);
    assert.ok(s.includes('<mark>needle</mark>'), s);
    assert.ok(s.length <= 200, `${s.length} characters`);
  });
  it('given marks, newlines and no match in the text, then marks in the snippet are only ours and whitespace is one space', () => {
    assert.equal(snippet('a <mark>fake</mark>\n\nword', 'word'), 'a ‹mark›fake‹/mark› <mark>word</mark>');
    assert.equal(snippet('nothing to see', 'zzz'), 'nothing to see');
  });
});
