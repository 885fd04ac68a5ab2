import { hostname } from 'node:os';
import { ConfigError, int, list, matching, oneOf, optionalInt, url, type Env } from '../config/validate.ts';

/** Where the cluster's engines are and how its roles find each other: the names scripts/engines.sh prints, with its defaults. */
export type ClusterConfig = ReturnType<typeof loadClusterConfig>;

const eventStoreDbSchemes = ['kurrentdb', 'kurrentdb+discover', 'kurrent', 'kurrent+discover', 'kdb', 'kdb+discover', 'esdb', 'esdb+discover'];
const kafkaName = { pattern: /^[A-Za-z0-9._-]{1,249}$/, wants: 'a Kafka name (letters, digits, . _ -)' };
const hostPort = { pattern: /^[^\s:,]+:\d{1,5}$/, wants: 'host:port addresses' };
const cassandraHost = { pattern: /^[^\s,]+$/, wants: 'hosts or host:port addresses' };

const cassandra = (env: Env) => ({
  contactPoints: list(env, 'NATTER_CASSANDRA_CONTACT_POINTS', ['127.0.0.1:9042'], cassandraHost),
  localDataCenter: matching(env, 'NATTER_CASSANDRA_DC', 'datacenter1', /^\S+$/, 'a data center name'),
  // Keyspace names end up in CQL text: plain identifiers only (as adapters/cassandra/client.ts checks again).
  keyspace: matching(
    env,
    'NATTER_CASSANDRA_KEYSPACE',
    'natter',
    /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/,
    'a Cassandra identifier (a letter, then letters, digits or _; at most 48)',
  ),
  /** For `natter migrate` when it creates the keyspace: 1 for the single local node, 3 in production. */
  replicationFactor: int(env, 'NATTER_CASSANDRA_REPLICATION_FACTOR', 1, { min: 1 }),
});

const opensearch = (env: Env) => ({
  url: url(env, 'NATTER_OPENSEARCH_URL', 'http://127.0.0.1:9201', ['http', 'https']),
  // Index names are lower case, and this one is the start of several (`<index>-messages-v<N>`, the alias `<index>-messages`).
  index: matching(
    env,
    'NATTER_OPENSEARCH_INDEX',
    'natter',
    /^[a-z0-9][a-z0-9._-]{0,99}$/,
    'an OpenSearch index name prefix (lower-case letters, digits, . _ -)',
  ),
});

export const loadClusterConfig = (env: Env = process.env) => {
  const eventStore = oneOf(env, 'NATTER_EVENT_STORE', ['postgres', 'eventstoredb'], 'postgres');
  const eventStoreDbUrl = url(env, 'NATTER_EVENTSTORE_URL', '', eventStoreDbSchemes);
  if (eventStore === 'eventstoredb' && !eventStoreDbUrl) {
    throw new ConfigError('NATTER_EVENTSTORE_URL must be set with NATTER_EVENT_STORE=eventstoredb (e.g. kurrentdb://127.0.0.1:2113?tls=false)');
  }
  const port = int(env, 'NATTER_PORT', 3000, { max: 65_535 });
  return {
    eventStore,
    pgUrl: url(env, 'NATTER_PG_URL', 'postgres://natter:natter@127.0.0.1:5442/natter', ['postgres', 'postgresql']),
    pgSchema: matching(
      env,
      'NATTER_PG_SCHEMA',
      'public',
      /^[A-Za-z_][A-Za-z0-9_]{0,62}$/,
      'a PostgreSQL schema name (a letter or _, then letters, digits or _)',
    ),
    eventStoreDbUrl,
    redisUrl: url(env, 'NATTER_REDIS_URL', 'redis://127.0.0.1:6390', ['redis', 'rediss']),
    redisPrefix: matching(env, 'NATTER_REDIS_PREFIX', 'natter', /^\S+$/, 'a key prefix without spaces'),
    kafkaBrokers: list(env, 'NATTER_KAFKA_BROKERS', ['127.0.0.1:9092'], hostPort),
    eventsTopic: matching(env, 'NATTER_KAFKA_EVENTS_TOPIC', 'natter.events', kafkaName.pattern, kafkaName.wants),
    pushTopic: matching(env, 'NATTER_KAFKA_PUSH_TOPIC', 'natter.push', kafkaName.pattern, kafkaName.wants),
    partitions: int(env, 'NATTER_KAFKA_PARTITIONS', 8, { min: 1 }),
    /** Replicas of each topic the roles create: 1 for the single local broker, 3 in production (with min.insync.replicas=2). */
    kafkaReplicationFactor: int(env, 'NATTER_KAFKA_REPLICATION_FACTOR', 1, { min: 1 }),
    projectorGroup: matching(env, 'NATTER_PROJECTOR_GROUP', 'natter-projectors', kafkaName.pattern, kafkaName.wants),
    pushGroup: matching(env, 'NATTER_PUSH_GROUP', 'natter-push', kafkaName.pattern, kafkaName.wants),
    /** How long a silent projector worker keeps its partitions before the group takes them back. */
    sessionTimeoutMs: int(env, 'NATTER_KAFKA_SESSION_TIMEOUT_MS', 30_000, { min: 1 }),
    cassandra: cassandra(env),
    opensearch: opensearch(env),
    /** How long a gateway waits for a conversation's owner before answering `unavailable`. */
    routeTimeoutMs: int(env, 'NATTER_ROUTE_TIMEOUT_MS', 10_000, { min: 1 }),
    gatewayId: matching(
      env,
      'NATTER_GATEWAY_ID',
      `gw-${hostname()}-${port}-${process.pid}`,
      /^[A-Za-z0-9._:-]{1,128}$/,
      'letters, digits, . _ : - (at most 128)',
    ),
    /** The role's CPU nice value; unset, the durable path's roles take 10 and gateways keep theirs (cli/roles.ts). */
    nice: optionalInt(env, 'NATTER_NICE', { min: -20, max: 19 }),
    /** How long `natter up` waits for every role to be ready. */
    upStartTimeoutMs: int(env, 'NATTER_UP_START_TIMEOUT_MS', 180_000, { min: 1 }),
  };
};
