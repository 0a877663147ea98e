// Schema migrations of the integrations collection, recorded in `schema_migrations` so each runs once.
// Each one is idempotent, so replicas starting together may both run it without harm.
import type { Db } from 'mongodb';
import { INTEGRATIONS_COLLECTION, createdAtOrObjectIdTime } from './mongo-integration.repository';
import { DUPLICATE_KEY, translateDriverErrors } from './mongo-errors';

export const MIGRATIONS_COLLECTION = 'schema_migrations';

interface Migration {
  name: string;
  up(db: Db, now: Date): Promise<void>;
}

interface MigrationRecord {
  _id: string;
  appliedAt: Date;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    // Records written by the Python store have no version nor timestamps: give them version 1 and the
    // creation time their ObjectId holds, so ETags and If-Match work on them like on any other.
    name: '001-backfill-version-and-timestamps',
    async up(db, now) {
      await db.collection(INTEGRATIONS_COLLECTION).updateMany({ version: { $exists: false } }, [
        {
          $set: {
            version: 1,
            createdAt: createdAtOrObjectIdTime(now),
          },
        },
        { $set: { updatedAt: { $ifNull: ['$updatedAt', '$createdAt'] } } },
      ]);
    },
  },
];

export async function pendingMigrations(db: Db): Promise<string[]> {
  const applied = await translateDriverErrors('find', () => db.collection<MigrationRecord>(MIGRATIONS_COLLECTION).find({}).toArray());
  const names = new Set(applied.map((record) => record._id));
  return MIGRATIONS.filter((migration) => !names.has(migration.name)).map((migration) => migration.name);
}

/** Applies every pending migration in order; answers the names it applied. */
export async function applyPendingMigrations(db: Db, now = new Date()): Promise<string[]> {
  const pending = new Set(await pendingMigrations(db));
  const applied: string[] = [];
  for (const migration of MIGRATIONS.filter((m) => pending.has(m.name))) {
    await translateDriverErrors(migration.name, () => migration.up(db, now));
    try {
      await db.collection<MigrationRecord>(MIGRATIONS_COLLECTION).insertOne({ _id: migration.name, appliedAt: now });
    } catch (error) {
      // Another replica recorded it first; the migration is idempotent, so this one's run did no harm.
      if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
    }
    applied.push(migration.name);
  }
  return applied;
}
