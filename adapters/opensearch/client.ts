import { Client, errors } from '@opensearch-project/opensearch';
import { setTimeout as sleep } from 'node:timers/promises';
import { NatterError } from '../../contracts/errors.ts';

/*
 * What OpenSearch holds
 * =====================
 * One index per version of the search read model, `<prefix>-messages-v<N>`, and the alias
 * `<prefix>-messages` on the active one, for operators and their tools (Dashboards, _cat, a
 * snapshot policy). Natter itself reads the version the shared record in Redis names active
 * (app/cluster/read-models.ts), like every other versioned read model, and `natter replay search
 * --cluster` builds N+1 beside N, then switches the record and moves the alias in one step.
 *
 * Index settings are left to the server's defaults (and so to any index template an operator puts on
 * `<prefix>-messages-v*`), except replicas (0 on a single node, 1 as soon as there is a second) and
 * the share of deleted documents a segment may keep through an expunge (none: erasure).
 */

export const connectOpenSearch = async (url: string): Promise<Client> => {
  // Retries cover a node restart; 10 s is longer than any query or bulk of a batch should take.
  const client = new Client({ node: url, requestTimeout: 10_000, maxRetries: 3 });
  await client.cluster.health({});
  return client;
};

export const searchAlias = (prefix: string) => `${prefix}-messages`;
export const searchIndexName = (prefix: string, version: number) => `${prefix}-messages-v${version}`;

const mappings = {
  dynamic: 'strict',
  properties: {
    conversation_id: { type: 'keyword' },
    // seq and sender_id are indexed for retention (a conversation's messages up to a seq) and erasure (a user's messages).
    seq: { type: 'integer' },
    message_id: { type: 'keyword', index: false },
    sender_id: { type: 'keyword' },
    timestamp: { type: 'long', index: false },
    position: { type: 'long' },
    content_type: { type: 'keyword', index: false },
    // As the log holds it (sealed): opened by readers.
    text: { type: 'text', index: false },
    // Folded words joined by spaces (projections/search/text.ts): split again on spaces only.
    words: { type: 'text', analyzer: 'whitespace', norms: false },
    deleted: { type: 'boolean' },
  },
} as const;

/** What a search answers while the engine cannot: the route makes it a 503. */
export const searchUnavailable = () => new NatterError('unavailable', 'search is unavailable right now; try again shortly');

export const isStatus = (error: unknown, status: number) => error instanceof errors.ResponseError && error.statusCode === status;

/**
 * Waits until an index's primary shards have started. An index another process has only just
 * created exists before its shards do, and a search of it answers 503 (`no_shard_available`) until
 * then: found by a CI run, where the gateway searched while a projector worker created the index.
 * The health API calls such an index yellow already, so this counts the started primaries instead.
 */
export const awaitSearchIndexStarted = async (client: Client, index: string) => {
  for (const deadline = Date.now() + 5_000; ; await sleep(25)) {
    // A missing index (deleted since it was seen) would hold the call for the default 30 s, then 408.
    const { body } = await client.cluster.health({ index, level: 'indices', timeout: '1s' }, { ignore: [408] });
    const health = body.indices?.[index] as { number_of_shards: number; active_primary_shards: number } | undefined;
    if (health && health.active_primary_shards >= health.number_of_shards) return;
    if (Date.now() > deadline) throw searchUnavailable();
  }
};

/**
 * Creates the index of one version if it is missing; version 1, the one nobody replayed, gets the
 * alias with it. Either way, it returns once the index's shards have started.
 */
export const ensureSearchIndex = async (client: Client, prefix: string, version: number) => {
  const index = searchIndexName(prefix, version);
  if ((await client.indices.exists({ index })).body) return awaitSearchIndexStarted(client, index);
  try {
    await client.indices.create({
      index,
      body: {
        // Expunging deletes after an erasure rewrites every segment that has one (search-index.ts).
        settings: { 'index.auto_expand_replicas': '0-1', 'index.merge.policy.expunge_deletes_allowed': 0 },
        mappings,
        ...(version === 1 ? { aliases: { [searchAlias(prefix)]: {} } } : {}),
      } as never,
    });
  } catch (error) {
    // Another worker created it between the two calls.
    if (!(error instanceof errors.ResponseError && error.body?.error?.type === 'resource_already_exists_exception')) throw error;
  }
  // Creation waits for the shard by default, but gives up after 30 s without failing.
  await awaitSearchIndexStarted(client, index);
};

export const dropSearchIndex = async (client: Client, prefix: string, version: number) => {
  try {
    await client.indices.delete({ index: searchIndexName(prefix, version) });
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
};

/** Points the alias at one version only, in one atomic step. */
export const pointSearchAlias = async (client: Client, prefix: string, version: number) => {
  const alias = searchAlias(prefix);
  await client.indices.updateAliases({
    body: {
      actions: [{ remove: { index: `${prefix}-messages-v*`, alias, must_exist: false } }, { add: { index: searchIndexName(prefix, version), alias } }],
    } as never,
  });
};
