// Schema migrations of the integrations collection, recorded in `schema_migrations` so each runs once.
// A runner takes a lease first, so two runners (two replicas starting, a Job beside them) never apply one
// at once; every write is bounded in time (maxTimeMS, and a majority write concern with a wtimeout).
// Order matters: the old store's records are backfilled, its duplicate ids resolved and its records made
// to fit today's rules before the unique index on `id` is built.
import { randomUUID } from 'node:crypto';
import type { Db, Document, WriteConcernSettings } from 'mongodb';
import { chooseAmongDuplicates, fitToRules } from '../../domain/legacy-records';
import type { StoredIntegration } from '../../domain/integration.entity';
import { ID_INDEX_NAME, INTEGRATIONS_COLLECTION, createdAtOrObjectIdTime } from './mongo-integration.repository';
import { DUPLICATE_KEY, PermanentStoreFault, translateDriverErrors } from './mongo-errors';

export const MIGRATIONS_COLLECTION = 'schema_migrations';
/** Where extra records of a duplicated id go: never deleted, moved here whole, with why. */
export const DUPLICATES_COLLECTION = 'integrations_duplicates';
/** Where what a legacy record had to give up to fit today's rules goes, with its integration id. */
export const SET_ASIDE_COLLECTION = 'integrations_set_aside';
const LEASE_ID = '__lease__';

export interface MigrationOptions {
  /** Bound on each operation the server runs. */
  maxTimeMS: number;
  /** Told of what a migration did, record by record: names and ids, never values. */
  log?: (msg: string, fields: Record<string, unknown>) => void;
  leaseMs?: number;
  now?: Date;
}

interface MigrationContext {
  db: Db;
  now: Date;
  maxTimeMS: number;
  writeConcern: WriteConcernSettings;
  log: (msg: string, fields: Record<string, unknown>) => void;
}

interface Migration {
  name: string;
  up(context: MigrationContext): Promise<void>;
}

interface MigrationRecord {
  _id: string;
  appliedAt?: Date;
  owner?: string;
  expiresAt?: Date;
}

/** Another runner holds the lease: migrations are being applied elsewhere right now (retry later). */
export class MigrationLeaseHeld extends Error {
  constructor(readonly holder: string | undefined) {
    super(`another runner (${holder ?? 'unknown'}) is applying migrations right now`);
    this.name = 'MigrationLeaseHeld';
  }
}

export const MIGRATIONS: readonly Migration[] = [
  {
    // Records written by the Python store have no version nor timestamps: give them version 1 and the
    // creation time their ObjectId holds, so ETags and If-Match work on them like on any other.
    name: '001-backfill-version-and-timestamps',
    async up({ db, now, maxTimeMS, writeConcern }) {
      await db.collection(INTEGRATIONS_COLLECTION).updateMany(
        { version: { $exists: false } },
        [{ $set: { version: 1, createdAt: createdAtOrObjectIdTime(now) } }, { $set: { updatedAt: { $ifNull: ['$updatedAt', '$createdAt'] } } }],
        { maxTimeMS, writeConcern },
      );
    },
  },
  {
    // The old store had no unique index and its seed upserts raced: one id may have several records.
    // One stays (see chooseAmongDuplicates); each other one is moved whole to integrations_duplicates.
    name: '002-resolve-duplicate-ids',
    async up({ db, now, maxTimeMS, writeConcern, log }) {
      const integrations = db.collection(INTEGRATIONS_COLLECTION);
      const backup = db.collection(DUPLICATES_COLLECTION);
      const duplicated = await integrations
        .aggregate<{ _id: unknown }>([{ $group: { _id: '$id', count: { $sum: 1 } } }, { $match: { count: { $gt: 1 } } }], { maxTimeMS })
        .toArray();
      for (const { _id: id } of duplicated) {
        // Natural order, as the old store's find_one saw them.
        const records = await integrations.find({ id: { $eq: id } }, { maxTimeMS }).toArray();
        const { kept, extras, why } = chooseAmongDuplicates(records as (Document & { version?: number })[]);
        for (const extra of extras) {
          await ignoreDuplicateKey(() => backup.insertOne({ ...extra, movedAt: now, keptRecord: kept._id, reason: why }, { writeConcern }));
          await integrations.deleteOne({ _id: extra._id }, { writeConcern });
        }
        log('duplicate id resolved', { id, kept: String(kept._id), moved: extras.map((e) => String(e._id)), to: DUPLICATES_COLLECTION, rule: why });
      }
    },
  },
  {
    // A record the admin UI could not save back (a facebook with an extra settings key, settings: null,
    // a missing name) is made to fit, and what it gave up is kept in integrations_set_aside.
    name: '003-fit-legacy-records',
    async up({ db, now, maxTimeMS, writeConcern, log }) {
      const integrations = db.collection<StoredIntegration & { _id: unknown }>(INTEGRATIONS_COLLECTION);
      const backup = db.collection(SET_ASIDE_COLLECTION);
      for (const record of await integrations.find({}, { maxTimeMS }).toArray()) {
        const { fields, setAside, notes } = fitToRules(record);
        if (notes.length === 0) continue;
        if (Object.keys(setAside).length > 0) {
          await ignoreDuplicateKey(() => backup.insertOne({ _id: record._id as never, integrationId: record.id, setAside, notes, at: now }, { writeConcern }));
        }
        const version = record.version ?? 1;
        // Only if nobody wrote meanwhile; a changed record is seen at its next version, as any write is.
        await integrations.updateOne(
          { _id: record._id, version: version === 1 ? { $in: [1, null] } : { $eq: version } } as never,
          { $set: { ...fields, version: version + 1, updatedAt: now } },
          { writeConcern },
        );
        log('legacy record fitted', { id: record.id, notes, setAsideIn: Object.keys(setAside).length > 0 ? SET_ASIDE_COLLECTION : undefined });
      }
    },
  },
  {
    // Built by the migration, after the duplicates are gone, bounded in time; on a replica set it waits for
    // a majority of voting members, not all of them (a degraded set still finishes). An equivalent unique
    // index an operator made under another name is accepted as it is.
    name: '004-unique-index-on-id',
    async up({ db, maxTimeMS, log }) {
      const integrations = db.collection(INTEGRATIONS_COLLECTION);
      if (await uniqueIdIndex(db)) return;
      const hello = await db.admin().command({ hello: 1 });
      const replicaSet = typeof hello.setName === 'string';
      await integrations.createIndex({ id: 1 }, { unique: true, name: ID_INDEX_NAME, maxTimeMS: Math.max(maxTimeMS, 60_000), ...(replicaSet ? { commitQuorum: 'majority' } : {}) });
      log('index built', { index: ID_INDEX_NAME, commitQuorum: replicaSet ? 'majority' : 'standalone' });
    },
  },
];

/** The name of a unique index on { id: 1 } of the collection, or null when there is none. */
export async function uniqueIdIndex(db: Db): Promise<string | null> {
  const indexes = await db
    .collection(INTEGRATIONS_COLLECTION)
    .listIndexes()
    .toArray()
    .catch((error: { code?: number }) => {
      if (error.code === 26) return []; // NamespaceNotFound: no collection yet
      throw error;
    });
  const found = indexes.find((index) => JSON.stringify(index.key) === JSON.stringify({ id: 1 }));
  if (found && found.unique !== true) {
    throw new PermanentStoreFault(`the index ${found.name} on { id: 1 } is not unique: drop it (db.integrations.dropIndex("${found.name}")) and start again`);
  }
  return found ? (found.name as string) : null;
}

export async function pendingMigrations(db: Db): Promise<string[]> {
  const applied = await translateDriverErrors('find', () => db.collection<MigrationRecord>(MIGRATIONS_COLLECTION).find({ _id: { $ne: LEASE_ID } }).toArray());
  const names = new Set(applied.map((record) => record._id));
  return MIGRATIONS.filter((migration) => !names.has(migration.name)).map((migration) => migration.name);
}

/** Applies every pending migration in order under a lease; answers the names it applied. */
export async function applyPendingMigrations(db: Db, options: MigrationOptions): Promise<string[]> {
  const now = options.now ?? new Date();
  const writeConcern: WriteConcernSettings = { w: 'majority', wtimeoutMS: Math.max(options.maxTimeMS, 10_000) };
  const context: MigrationContext = { db, now, maxTimeMS: options.maxTimeMS, writeConcern, log: options.log ?? (() => {}) };
  return withLease(db, options.leaseMs ?? 10 * 60_000, writeConcern, async () => {
    const pending = new Set(await pendingMigrations(db));
    const applied: string[] = [];
    for (const migration of MIGRATIONS.filter((m) => pending.has(m.name))) {
      await translateDriverErrors(migration.name, () => migration.up(context));
      await ignoreDuplicateKey(() => db.collection<MigrationRecord>(MIGRATIONS_COLLECTION).insertOne({ _id: migration.name, appliedAt: now }, { writeConcern }));
      applied.push(migration.name);
    }
    return applied;
  });
}

async function withLease<T>(db: Db, leaseMs: number, writeConcern: WriteConcernSettings, work: () => Promise<T>): Promise<T> {
  const leases = db.collection<MigrationRecord>(MIGRATIONS_COLLECTION);
  const owner = randomUUID();
  const now = new Date();
  try {
    // Taken when absent or expired (a runner that died keeps it at most leaseMs); two takers race on _id.
    await translateDriverErrors('lease', () =>
      leases.updateOne({ _id: LEASE_ID, expiresAt: { $lte: now } }, { $set: { owner, expiresAt: new Date(now.getTime() + leaseMs) } }, { upsert: true, writeConcern }),
    );
  } catch (error) {
    if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
    const holder = await leases.findOne({ _id: LEASE_ID });
    throw new MigrationLeaseHeld(holder?.owner);
  }
  try {
    return await work();
  } finally {
    await leases.deleteOne({ _id: LEASE_ID, owner }, { writeConcern }).catch(() => undefined);
  }
}

async function ignoreDuplicateKey(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    // Already recorded by an earlier run that stopped halfway: the migration resumes.
    if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
  }
}
