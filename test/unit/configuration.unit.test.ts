import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { loadConfig, ConfigError } from '../../app/config.ts';
import { loadClusterConfig } from '../../app/cluster/config.ts';
import { deprecatedNames, isLoopback, renameDeprecated } from '../../app/config/validate.ts';
import { tempDir } from '../support/natter.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The variable names in the first column of the Markdown table that follows `heading`. */
const documented = (heading: string): string[] => {
  assert.ok(readme.includes(`\n${heading}\n`), `README has a "${heading}" section`);
  const lines = readme.slice(readme.indexOf(`\n${heading}\n`) + heading.length + 2).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const names: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    names.push(...[...line.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!));
  }
  return names;
};

/** Every name the two loaders read from `env`, for both profiles, whatever they do with it. */
const namesRead = (env: Record<string, string>): Set<string> => {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get: (target, name) => {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
  });
  loadConfig(recording, 'embedded');
  loadConfig(
    new Proxy<Record<string, string>>(
      { NATTER_MASTER_KEY: 'ab'.repeat(32), ...env },
      {
        get: (target, name) => {
          if (typeof name === 'string') read.add(name);
          return target[name as string];
        },
      },
    ),
    'cluster',
  );
  loadClusterConfig(recording);
  return read;
};

const pem = (type: 'rsa' | 'ec') => {
  const { publicKey, privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
};

/** Every optional part configured (keys, push providers, S3, EventStoreDB), so that no branch hides a read. */
const complete = (dataDir: string): Record<string, string> => {
  const jwt = pem('rsa');
  const apns = pem('ec');
  return {
    NATTER_DATA_DIR: dataDir,
    NATTER_JWT_PUBLIC_KEY: jwt.publicKey,
    NATTER_JWT_PRIVATE_KEY: jwt.privateKey,
    NATTER_FCM_SERVICE_ACCOUNT: JSON.stringify({ client_email: 'a@b.iam.gserviceaccount.com', private_key: jwt.privateKey, project_id: 'p' }),
    NATTER_APNS_KEY: apns.privateKey,
    NATTER_APNS_KEY_ID: 'K',
    NATTER_APNS_TEAM_ID: 'T',
    NATTER_APNS_TOPIC: 'app',
    NATTER_VAPID_PUBLIC_KEY: 'pub',
    NATTER_VAPID_PRIVATE_KEY: 'priv',
    NATTER_PUSH_CA: jwt.publicKey,
    NATTER_S3_BUCKET: 'media',
    NATTER_S3_ENDPOINT: 'http://127.0.0.1:9000',
    NATTER_EVENT_STORE: 'eventstoredb',
    NATTER_EVENTSTORE_URL: 'kurrentdb://127.0.0.1:2113?tls=false',
  };
};

describe('configuration', () => {
  it('given the loaders, then the README Configuration and Cluster settings tables list exactly the variables they read', () => {
    const read = new Set([...namesRead({ NATTER_DATA_DIR: tempDir() }), ...namesRead(complete(tempDir()))]);
    const old = new Set(Object.values(deprecatedNames));
    const current = [...read].filter((name) => !old.has(name)).sort();
    assert.ok(
      current.includes('NATTER_PORT') && current.includes('NATTER_KAFKA_BROKERS') && current.includes('NATTER_MEDIA_DIR'),
      'the recording sees both loaders',
    );
    const tables = [...documented('## Configuration'), ...documented('### Cluster settings')];
    assert.deepEqual([...tables].sort(), [...new Set(tables)].sort(), 'no variable is listed twice');
    assert.deepEqual([...tables].sort(), current, 'README tables (left) against the variables the code reads (right)');
    for (const [name, was] of Object.entries(deprecatedNames)) {
      assert.ok(read.has(was), `${was} still works`);
      const says = readme.split('\n\n').some((p) => p.includes('deprecated') && p.includes(`\`${was}\``) && p.includes(`\`${name}\``));
      assert.ok(says, `README says ${was} is deprecated for ${name}`);
    }
  });

  it('given a bad number, a bad boolean or an unknown event store, then loading throws one line naming the variable', () => {
    const dataDir = tempDir();
    const cases: Array<[() => unknown, string]> = [
      [() => loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_MAX_BODY_BYTES: 'abc' }), 'NATTER_MAX_BODY_BYTES must be an integer of at least 1, got "abc"'],
      [() => loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_PORT: '70000' }), 'NATTER_PORT must be an integer from 0 to 65535, got "70000"'],
      [() => loadClusterConfig({ NATTER_KAFKA_PARTITIONS: '0' }), 'NATTER_KAFKA_PARTITIONS must be an integer of at least 1, got "0"'],
      [() => loadClusterConfig({ NATTER_ROUTE_TIMEOUT_MS: '10s' }), 'NATTER_ROUTE_TIMEOUT_MS must be an integer of at least 1, got "10s"'],
      [() => loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_PUSH_INCLUDE_CONTENT: 'maybe' }), 'NATTER_PUSH_INCLUDE_CONTENT must be true or false, got "maybe"'],
      [() => loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_DEV_TOKENS: 'ture' }), 'NATTER_DEV_TOKENS must be true or false, got "ture"'],
      [() => loadClusterConfig({ NATTER_EVENT_STORE: 'postgress' }), 'NATTER_EVENT_STORE must be one of postgres, eventstoredb, got "postgress"'],
      [
        () => loadClusterConfig({ NATTER_EVENT_STORE: 'eventstoredb' }),
        'NATTER_EVENTSTORE_URL must be set with NATTER_EVENT_STORE=eventstoredb (e.g. kurrentdb://127.0.0.1:2113?tls=false)',
      ],
      [
        () => loadClusterConfig({ NATTER_PG_URL: 'mysql://u:secret@db/natter' }),
        'NATTER_PG_URL must be a URL starting with postgres:// or postgresql://, got "mysql://u:***@db/natter"',
      ],
      [
        () => loadClusterConfig({ NATTER_KAFKA_BROKERS: '127.0.0.1' }),
        'NATTER_KAFKA_BROKERS must be a comma-separated list of host:port addresses, got "127.0.0.1"',
      ],
      [
        () => loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_LOG_LEVEL: 'verbose' }),
        'NATTER_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
      ],
      [
        () => loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_JWT_MAX_LIFETIME_SECONDS: '0' }),
        'NATTER_JWT_MAX_LIFETIME_SECONDS must be an integer of at least 1, got "0"',
      ],
      [
        () => loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_TOKEN_TTL_SECONDS: '90000' }),
        'NATTER_TOKEN_TTL_SECONDS (90000) must not exceed NATTER_JWT_MAX_LIFETIME_SECONDS (86400)',
      ],
      [() => loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_OTEL_ENABLED: 'enabled' }), 'NATTER_OTEL_ENABLED must be true or false, got "enabled"'],
      [
        () => loadConfig({ NATTER_DATA_DIR: dataDir, OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' }),
        'OTEL_EXPORTER_OTLP_ENDPOINT must be a URL starting with http:// or https://, got "grpc://collector:4317"',
      ],
    ];
    for (const [load, message] of cases) {
      assert.throws(load, (error: Error) => {
        assert.ok(error instanceof ConfigError, `${message}: a ConfigError, not ${error.constructor.name}`);
        assert.equal(error.message, message);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    }
  });

  it('given nothing about tracing, then it is off; given NATTER_OTEL_ENABLED and the standard OTEL_* names, then it exports there', () => {
    const dataDir = tempDir();
    assert.deepEqual(loadConfig({ NATTER_DATA_DIR: dataDir }).tracing, {
      enabled: false,
      endpoint: 'http://127.0.0.1:4318',
      serviceName: 'natter',
      exportDelayMs: 5_000,
    });
    // An endpoint alone does not turn tracing on: enabling is explicit.
    assert.equal(loadConfig({ NATTER_DATA_DIR: dataDir, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing.enabled, false);
    assert.deepEqual(
      loadConfig({
        NATTER_DATA_DIR: dataDir,
        NATTER_OTEL_ENABLED: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318/',
        OTEL_SERVICE_NAME: 'chat',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      }).tracing,
      { enabled: true, endpoint: 'https://collector.example:4318', serviceName: 'chat', exportDelayMs: 200 },
    );
  });

  it('given the old names PORT, HOST and EVENTSTORE_URL, then they still work, the new names win, and each warns once per process', () => {
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const dataDir = tempDir();
      for (let i = 0; i < 3; i++) {
        const config = loadConfig({ NATTER_DATA_DIR: dataDir, PORT: '4100', HOST: '127.0.0.2' });
        assert.equal(config.port, 4100);
        assert.equal(config.host, '127.0.0.2');
        assert.equal(
          loadClusterConfig({ NATTER_EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://127.0.0.1:2113?tls=false' }).eventStoreDbUrl,
          'esdb://127.0.0.1:2113?tls=false',
        );
      }
      assert.equal(loadConfig({ NATTER_DATA_DIR: dataDir, PORT: '4100', NATTER_PORT: '4200' }).port, 4200);
      assert.throws(() => loadConfig({ NATTER_DATA_DIR: dataDir, PORT: 'x' }), { message: 'PORT must be an integer from 0 to 65535, got "x"' });
      assert.deepEqual(renameDeprecated({ PORT: '1', HOST: 'localhost', OTHER: 'y' }), { NATTER_PORT: '1', NATTER_HOST: 'localhost', OTHER: 'y' });
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(lines.sort(), [
      'natter: EVENTSTORE_URL is deprecated; use NATTER_EVENTSTORE_URL\n',
      'natter: HOST is deprecated; use NATTER_HOST\n',
      'natter: PORT is deprecated; use NATTER_PORT\n',
    ]);
  });

  it('given no NATTER_DEV_TOKENS, then the embedded profile issues them on loopback only, refuses to guess elsewhere, and the cluster keeps them off', () => {
    const dataDir = tempDir();
    const embedded = (env: Record<string, string>) => loadConfig({ NATTER_DATA_DIR: dataDir, ...env });
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) {
      assert.ok(isLoopback(host), host);
      assert.equal(embedded({ NATTER_HOST: host }).devTokens, true, host);
    }
    assert.equal(embedded({}).corsOrigins, 'localhost', 'CORS follows dev tokens');
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'chat.example.com', '128.0.0.1']) {
      assert.ok(!isLoopback(host), host);
      assert.throws(() => embedded({ NATTER_HOST: host }), {
        message: `NATTER_HOST=${host} is not loopback: set NATTER_DEV_TOKENS=false for production, or NATTER_DEV_TOKENS=true to allow anyone to mint tokens`,
      });
    }
    const exposed = embedded({ NATTER_HOST: '0.0.0.0', NATTER_DEV_TOKENS: 'false' });
    assert.deepEqual([exposed.devTokens, exposed.corsOrigins], [false, []]);
    assert.equal(embedded({ NATTER_HOST: '0.0.0.0', NATTER_DEV_TOKENS: 'true' }).devTokens, true);
    assert.equal(embedded({ NATTER_DEV_TOKENS: 'false' }).devTokens, false);

    const key = { NATTER_MASTER_KEY: 'ab'.repeat(32) };
    const cluster = loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_HOST: '0.0.0.0', ...key }, 'cluster');
    assert.deepEqual([cluster.devTokens, cluster.corsOrigins], [false, []]);
    assert.equal(loadConfig({ NATTER_DATA_DIR: dataDir, ...key }, 'cluster').devTokens, false, 'off on loopback too');
    assert.equal(loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_DEV_TOKENS: 'true', ...key }, 'cluster').devTokens, true);
    assert.throws(() => loadConfig({ NATTER_DATA_DIR: dataDir }, 'cluster'), { message: /NATTER_MASTER_KEY is required in the cluster profile/ });
    assert.throws(() => loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_MASTER_KEY: 'short' }), { message: /NATTER_MASTER_KEY must be 32 bytes/ });
  });
});
