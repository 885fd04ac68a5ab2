// Readiness probe used by scripts/engines.sh: node probe.cjs kafka|cassandra <host:port>
// Exits 0 when the engine answers a real client request (Kafka metadata, a CQL query), else 1.
'use strict';
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const need = (m) => require(require.resolve(m, { paths: [root] }));
const [engine, address] = process.argv.slice(2);

async function kafka() {
  const { Kafka, logLevel } = need('kafkajs');
  const admin = new Kafka({
    clientId: 'natter-engines-probe',
    brokers: [address],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (!cluster.brokers.length) throw new Error('no broker in metadata');
    await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function cassandra() {
  const { Client } = need('cassandra-driver');
  const [host, port] = address.split(':');
  const client = new Client({
    contactPoints: [host],
    protocolOptions: { port: Number(port) },
    localDataCenter: 'datacenter1',
    socketOptions: { connectTimeout: 3000, readTimeout: 5000 },
  });
  try {
    await client.connect();
    await client.execute('SELECT release_version FROM system.local');
  } finally {
    await client.shutdown().catch(() => {});
  }
}

const probes = { kafka, cassandra };
if (!probes[engine]) {
  console.error(`unknown engine ${engine}`);
  process.exit(1);
}
const timer = setTimeout(() => {
  console.error(`${engine}: probe timed out`);
  process.exit(1);
}, 15000);
probes[engine]().then(
  () => {
    clearTimeout(timer);
    process.exit(0);
  },
  (err) => {
    console.error(`${new Date().toISOString()} ${engine} ${address}: ${err?.message}`);
    process.exit(1);
  },
);
