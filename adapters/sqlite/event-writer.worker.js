// The event log's one writer, on a thread of its own (see event-store.ts). Plain JavaScript: a worker
// thread does not inherit the TypeScript loader that bin/natter.js registers.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** @type {{ path: string, pragmas: string[] }} */
const { path, pragmas } = workerData;
const db = new Database(path);
for (const pragma of pragmas) db.pragma(pragma);
const head = db.prepare('SELECT MAX(revision) FROM events WHERE stream = ?').pluck();
const insert = db.prepare('INSERT INTO events (stream, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?)');

/** @param {number | string} expected @param {number} actual */
const matches = (expected, actual) => {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return expected === actual;
};

/**
 * One batch, columnar: append i writes counts[i] events to streams[i]; the events' types, data and
 * metadata follow one another in the flat arrays. A wrong revision fails that append only, and the
 * appends pipelined behind it on the same stream with a numeric or no_stream expectation.
 * Answers, per append, the position of its last event and its stream's next revision, or -1 and the
 * stream's actual revision when it failed.
 */
const commit = db.transaction((batch) => {
  const { streams, expected, counts, types, data, metadata } = batch;
  const now = Date.now();
  const heads = new Map();
  const failed = new Set();
  const positions = new Array(streams.length);
  const revisions = new Array(streams.length);
  let k = 0;
  for (let i = 0; i < streams.length; i++) {
    const stream = streams[i];
    const count = counts[i];
    const actual = heads.get(stream) ?? head.get(stream) ?? -1;
    const exp = expected[i];
    const pipelinedOnFailure = failed.has(stream) && (typeof exp === 'number' || exp === 'no_stream');
    if (pipelinedOnFailure || !matches(exp, actual)) {
      failed.add(stream);
      positions[i] = -1;
      revisions[i] = actual;
      k += count;
      continue;
    }
    let revision = actual;
    let position = 0;
    for (let end = k + count; k < end; k++) {
      revision += 1;
      position = Number(insert.run(stream, revision, types[k], data[k], metadata[k], now).lastInsertRowid);
    }
    heads.set(stream, revision);
    positions[i] = position;
    revisions[i] = revision;
  }
  return { now, positions, revisions };
}).immediate;

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage(commit(message));
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error), code: error?.code });
  }
});
