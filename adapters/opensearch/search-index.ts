import { errors, type Client } from '@opensearch-project/opensearch';
import type { SearchHit, SearchIndex, SearchTerm, SearchWrite } from '../../ports/search.ts';
import { awaitSearchIndexStarted, dropSearchIndex, ensureSearchIndex, isStatus, searchIndexName, searchUnavailable } from './client.ts';

/*
 * Search over OpenSearch: one document per message, id `<conversation>:<seq>`, written with
 * external versioning where the version is the log position of the event that wrote it. OpenSearch
 * then keeps, for each message, the write of the latest event and refuses older ones (409): a
 * replayed send or edit never undoes an edit or a delete, and replays are idempotent without a read
 * (this distribution has no scripting for conditional updates). A delete writes a tombstone (no
 * words) rather than deleting the document: OpenSearch forgets deletes' versions after a minute, a
 * tombstone's version stays. An edit needs the message's other fields: from the same batch, or one
 * multi-get per batch that has edits. An expiry or an erasure tombstones every message it covers,
 * with its own position as the version, so that a replayed send of one of them is refused too.
 *
 * Writes are not refreshed: a message becomes findable within the index's refresh interval (1 s by
 * default) after its batch, a lag the projection already has; waiting for the refresh would hold
 * every other read model of the batch (and the fan-out behind them) for it.
 */

type Doc = {
  conversation_id: string;
  seq: number;
  message_id: string;
  sender_id: string;
  timestamp: number;
  position: number;
  content_type: 'text' | 'media';
  text: string;
  words: string;
  deleted: boolean;
};

const idOf = (conversationId: string, seq: number) => `${conversationId}:${seq}`;
/** Documents per bulk request: at most ~32 MB of the longest messages (text and words). */
const BULK_DOCUMENTS = 1_000;
/** Longer than the 30 s after which the engine moves its retention leases on. */
const PURGE_AGAIN_MS = 40_000;

const termQuery = ({ words, prefix }: SearchTerm): object => {
  const last = words.at(-1)!;
  if (words.length === 1) return prefix ? { prefix: { words: { value: last } } } : { term: { words: last } };
  if (!prefix) return { match_phrase: { words: { query: words.join(' ') } } };
  return {
    span_near: {
      slop: 0,
      in_order: true,
      clauses: [
        ...words.slice(0, -1).map((word) => ({ span_term: { words: word } })),
        // Bounded, so that a phrase ending in one letter cannot exceed the clause limit.
        { span_multi: { match: { prefix: { words: { value: last, rewrite: 'top_terms_1000' } } } } },
      ],
    },
  };
};

/** The engine is down, overloaded or timing out: the route answers 503, not 500. */
const unavailable = (error: unknown): never => {
  const transient =
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoLivingConnectionsError ||
    (error instanceof errors.ResponseError && (error.statusCode === 429 || error.statusCode >= 500));
  if (transient) throw searchUnavailable();
  throw error;
};

export const createOpenSearchSearchIndex = ({ client, prefix, version = 1 }: { client: Client; prefix: string; version?: number }): SearchIndex => {
  const index = searchIndexName(prefix, version);
  let ready: Promise<void> | undefined;
  const ensure = () =>
    (ready ??= ensureSearchIndex(client, prefix, version).catch((error) => {
      ready = undefined;
      throw error;
    }));
  /**
   * Whether the index exists, and then its shards have started: searches wait for that once per
   * process, for an index another process may have only just created. A missing index is asked
   * about again by the next search.
   */
  let started: Promise<boolean> | undefined;
  const searchable = () =>
    (started ??= (async () => {
      if (!(await client.indices.exists({ index })).body) return false;
      await awaitSearchIndexStarted(client, index);
      return true;
    })().then(
      (exists) => {
        if (!exists) started = undefined;
        return exists;
      },
      (error) => {
        started = undefined;
        throw error;
      },
    ));

  /** The current documents of the messages that `ops` edit and that no earlier op of the batch wrote. */
  const basesOf = async (ops: SearchWrite[]): Promise<Map<string, { doc: Doc; version: number }>> => {
    const bases = new Map<string, { doc: Doc; version: number }>();
    const written = new Set<string>();
    const wanted = new Set<string>();
    for (const op of ops) {
      if (op.op === 'message') written.add(idOf(op.message.conversation_id, op.message.seq));
      else if (op.op === 'edit' && !written.has(idOf(op.conversation_id, op.seq))) wanted.add(idOf(op.conversation_id, op.seq));
    }
    if (wanted.size === 0) return bases;
    const { body } = await client.mget({ index, body: { ids: [...wanted] } });
    for (const doc of body.docs as Array<{ _id: string; found?: boolean; _source?: Doc; _version?: number }>) {
      if (doc.found && doc._source) bases.set(doc._id, { doc: doc._source, version: doc._version ?? 0 });
    }
    return bases;
  };

  /**
   * An erased user's words must leave the disk, not only the results: a tombstone write leaves the
   * old document (its words, in the clear) in its segment as a soft delete, and its operation in the
   * translog. Merging away the deleted documents of every segment that has some (the index's
   * `expunge_deletes_allowed` is 0), refreshing (searchers hold the old segments' files open) and
   * flushing (which trims the translog) rewrites them without it. But the engine keeps the soft
   * deletes that its shards' retention leases still cover, and it moves those leases on only every
   * 30 s: so the purge runs again PURGE_AGAIN_MS later, twice. Erasures are rare; each costs a
   * rewrite of the segments that have deletes, in the engine's background.
   */
  const purge = async () => {
    await client.indices.forcemerge({ index, only_expunge_deletes: true, flush: true } as never);
    await client.indices.refresh({ index });
    await client.indices.flush({ index, force: true } as never);
  };
  let later: NodeJS.Timeout[] = [];
  const purgeNowAndLater = async () => {
    for (const timer of later) clearTimeout(timer);
    // A failed purge is covered by the next one, or by the next erasure.
    later = [1, 2].map((n) => setTimeout(() => void purge().catch(() => undefined), n * PURGE_AGAIN_MS).unref());
    await purge();
  };

  return {
    async write(ops) {
      if (ops.length === 0) return;
      await ensure();
      const bases = await basesOf(ops);
      const lines: object[] = [];
      let erased = false;
      const put = (doc: Doc, position: number) => {
        const id = idOf(doc.conversation_id, doc.seq);
        lines.push({ index: { _index: index, _id: id, version: position, version_type: 'external' } }, doc);
        bases.set(id, { doc, version: position });
      };
      const tombstone = (conversationId: string, seq: number, position: number) =>
        put(
          {
            conversation_id: conversationId,
            seq,
            message_id: '',
            sender_id: '',
            timestamp: 0,
            position: 0,
            content_type: 'text',
            text: '',
            words: '',
            deleted: true,
          },
          position,
        );
      // In bulks of at most BULK_DOCUMENTS, one after the other (a message's writes stay in order):
      // a replay's batch of 10,000 long messages would pass the engine's 100 MB request limit.
      const flush = async () => {
        for (let i = 0; i < lines.length; i += 2 * BULK_DOCUMENTS) {
          const { body } = await client.bulk({ body: lines.slice(i, i + 2 * BULK_DOCUMENTS) as never });
          if (!body.errors) continue;
          // 409: an event this version already has (a replay); anything else fails the batch, which is retried.
          const failed = (body.items as Array<Record<string, { status: number; error?: { type: string; reason?: string } }>>)
            .map((item) => Object.values(item)[0]!)
            .find((result) => result.status !== 409 && result.error);
          if (failed) throw new Error(`OpenSearch refused a search write (${failed.status} ${failed.error!.type}: ${failed.error!.reason ?? ''})`);
        }
        lines.length = 0;
      };
      /**
       * The indexed messages matching `filter`, for an expiry or an erasure (rare): what this batch
       * wrote so far is flushed and refreshed first, so that the query sees it. No delete-by-query in
       * this distribution, and tombstones are wanted anyway (they keep their versions).
       */
      const indexedWhere = async (filter: object[]) => {
        await flush();
        await client.indices.refresh({ index });
        const found: Array<{ conversation_id: string; seq: number }> = [];
        for (let after: unknown[] | undefined; ; ) {
          const { body } = await client.search({
            index,
            body: {
              size: BULK_DOCUMENTS,
              sort: [{ position: 'asc' }],
              track_total_hits: false,
              _source: ['conversation_id', 'seq'],
              query: { bool: { filter: [...filter, { term: { deleted: false } }] } },
              ...(after ? { search_after: after } : {}),
            } as never,
          });
          const hits = body.hits.hits as Array<{ _source: { conversation_id: string; seq: number }; sort: unknown[] }>;
          found.push(...hits.map((hit) => hit._source));
          if (hits.length < BULK_DOCUMENTS) return found;
          after = hits.at(-1)!.sort;
        }
      };
      for (const op of ops) {
        switch (op.op) {
          case 'message': {
            const { words, ...m } = op.message;
            put({ ...m, words: words.join(' '), deleted: false }, m.position);
            break;
          }
          case 'edit': {
            const base = bases.get(idOf(op.conversation_id, op.seq));
            // Not indexed (encrypted), deleted, or already past this edit: nothing to do.
            if (!base || base.doc.deleted || base.version >= op.position) break;
            put({ ...base.doc, text: op.text, words: op.words.join(' ') }, op.position);
            break;
          }
          case 'delete':
            tombstone(op.conversation_id, op.seq, op.position);
            break;
          case 'expire':
            for (const m of await indexedWhere([{ term: { conversation_id: op.conversation_id } }, { range: { seq: { lte: op.up_to_seq } } }]))
              tombstone(m.conversation_id, m.seq, op.position);
            break;
          case 'erase':
            for (const m of await indexedWhere([{ term: { sender_id: op.sender_id } }])) tombstone(m.conversation_id, m.seq, op.position);
            erased = true;
            break;
        }
      }
      await flush();
      if (erased) await purgeNowAndLater();
    },

    async search({ terms, conversationIds, limit, before }): Promise<SearchHit[]> {
      if (terms.length === 0 || conversationIds.length === 0) return [];
      try {
        if (!(await searchable())) return [];
        const { body } = await client.search({
          index,
          body: {
            size: limit,
            sort: [{ position: 'desc' }],
            track_total_hits: false,
            _source: ['conversation_id', 'seq', 'message_id', 'sender_id', 'timestamp', 'position', 'content_type', 'text'],
            query: {
              bool: {
                filter: [
                  { terms: { conversation_id: [...conversationIds] } },
                  { term: { deleted: false } },
                  ...(before !== undefined ? [{ range: { position: { lt: before } } }] : []),
                  ...terms.map(termQuery),
                ],
              },
            },
          } as never,
        });
        return (body.hits.hits as Array<{ _source: SearchHit }>).map((hit) => hit._source);
      } catch (error) {
        // Nothing was ever indexed at this version yet: the next search waits for the shards again.
        if (isStatus(error, 404)) {
          started = undefined;
          return [];
        }
        return unavailable(error);
      }
    },

    async reset() {
      await dropSearchIndex(client, prefix, version);
      ready = started = undefined;
    },
  };
};
