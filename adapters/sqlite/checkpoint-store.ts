import type { SqliteDatabase } from './database.ts';
import type { CheckpointStore } from '../../ports/read-models.ts';

export const createSqliteCheckpointStore = (db: SqliteDatabase): CheckpointStore => {
  db.exec('CREATE TABLE IF NOT EXISTS checkpoints (projector TEXT PRIMARY KEY, position INTEGER NOT NULL)');
  const get = db.prepare<[string], { position: number }>('SELECT position FROM checkpoints WHERE projector = ?');
  const set = db.prepare('INSERT INTO checkpoints VALUES (?, ?) ON CONFLICT DO UPDATE SET position = excluded.position');
  return {
    async get(projector) {
      return get.get(projector)?.position ?? 0;
    },
    async set(projector, position) {
      set.run(projector, position);
    },
  };
};
