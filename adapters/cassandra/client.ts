import cassandra from 'cassandra-driver';

export type CassandraConnectOptions = {
  /** `host` or `host:port` (the driver accepts both). */
  contactPoints: string[];
  localDataCenter: string;
  /** Optional: the client's default keyspace, which must exist. The adapters qualify every table anyway. */
  keyspace?: string;
  /** Consistency for every request unless a query says otherwise. Default LOCAL_QUORUM. */
  consistency?: number;
};

/**
 * A connected driver client. LOCAL_QUORUM reads and writes by default: with RF 3 per DC a read sees
 * every acknowledged write of the same DC. Tables are always qualified by the adapters, so one
 * client can serve several keyspaces (tests create one per run).
 */
export const connectCassandra = async (options: CassandraConnectOptions): Promise<cassandra.Client> => {
  const client = new cassandra.Client({
    contactPoints: options.contactPoints,
    localDataCenter: options.localDataCenter,
    ...(options.keyspace ? { keyspace: options.keyspace } : {}),
    queryOptions: { consistency: options.consistency ?? cassandra.types.consistencies.localQuorum, prepare: true },
    socketOptions: { connectTimeout: 5_000, readTimeout: 12_000 },
    protocolOptions: { maxSchemaAgreementWaitSeconds: 30 },
    // A node that went away is tried again every 2 s at most (the driver's default lets the wait grow
    // to 10 minutes, so a Cassandra back from a restart could stay unused for that long).
    policies: { reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(250, 2_000, false) },
  });
  await client.connect();
  return client;
};

const identifier = /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/;

/** Keyspace names end up in CQL text, so only plain identifiers are accepted. */
export const checkKeyspace = (keyspace: string): string => {
  if (!identifier.test(keyspace)) throw new Error(`invalid Cassandra keyspace name: ${JSON.stringify(keyspace)}`);
  return keyspace;
};
