// Physical limit for the durable scenario: batched inserts straight into SQLite, no server.
// Same settings as an event store: WAL, synchronous=FULL, an events table with a global position
// (integer primary key), stream id, stream revision, type, JSON data and UNIQUE(stream, revision).
import Database from 'better-sqlite3';
import path from 'node:path';
import { onCommand, reply, lifetime } from '../lib/ipc.ts';

type Setup = { dir: string; txSizes: number[]; durationMs: number; streams?: number; payloadBytes?: number; lifetimeMs?: number };

onCommand((c) => {
  if (c.cmd !== 'run') return;
  const s = c as unknown as Setup;
  lifetime(s.lifetimeMs ?? 300_000);
  const results: Array<Record<string, number>> = [];
  for (const tx of s.txSizes) {
    const db = new Database(path.join(s.dir, `raw-${tx}.db`));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE events (
      position INTEGER PRIMARY KEY,
      stream_id TEXT NOT NULL,
      stream_revision INTEGER NOT NULL,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      recorded_at INTEGER NOT NULL,
      UNIQUE (stream_id, stream_revision)
    )`);
    const ins = db.prepare('INSERT INTO events (stream_id, stream_revision, type, data, recorded_at) VALUES (?, ?, ?, ?, ?)');
    const streams = s.streams ?? 100;
    const rev = new Array<number>(streams).fill(0);
    const body = 'x'.repeat(s.payloadBytes ?? 64);
    let n = 0;
    const batch = db.transaction((k: number) => {
      for (let j = 0; j < k; j++) {
        const st = n % streams;
        const data = JSON.stringify({ message_id: `m-${n}`, sender_id: `u${st}a`, client_msg_id: `c-${n}`, content: body, content_type: 'text' });
        ins.run(`conversation-${st}`, ++rev[st]!, 'MessageSent', data, Date.now());
        n++;
      }
    });
    const t0 = performance.now();
    const end = t0 + s.durationMs;
    let txs = 0;
    while (performance.now() < end) {
      batch(tx);
      txs++;
    }
    const secs = (performance.now() - t0) / 1000;
    db.close();
    results.push({ tx_rows: tx, rows: n, transactions: txs, seconds: Math.round(secs * 1000) / 1000, rows_per_s: Math.round(n / secs) });
  }
  reply({ type: 'done', results });
});
