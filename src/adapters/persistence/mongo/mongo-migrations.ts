// Schema migrations of the integrations collection, recorded in `schema_migrations` so each runs once, safe
// beside the old Python store (which keeps writing during the move) and beside other runners:
// - a runner takes a lease first, on the server's clock ($$NOW), renews it while it works, checks it still
//   holds it before recording a migration, and releases it when it stops (or is stopped);
// - every write waits for a majority, bounded in time;
// - 003 changes a record only if it is still what was read (the old store's writes never move `version`), and
//   merges what it sets aside; 004 resolves duplicates that came back before building the unique index.
// Order matters: the old store's records are backfilled, its duplicate ids resolved and its records made to
// fit today's rules before the unique index on `id` is built.
import { randomUUID } from 'node:crypto';
import { BSON, type Db, type Document, type Filter, type WriteConcernSettings } from 'mongodb';
import {
  UNKNOWN_CREATION_TIME,
  chooseAmongDuplicates,
  fitToRules,
  storedVersion,
  type StoredIntegration,
} from '../../../domain/legacy-records';
import { PermanentStoreFault } from '../store';
import { DUPLICATE_KEY, translateDriverErrors } from './mongo-errors';
import { ID_INDEX_NAME, INTEGRATIONS_COLLECTION, atVersion } from './mongo-integration.repository';

export const MIGRATIONS_COLLECTION = 'schema_migrations';
/** Where extra records of a duplicated id go: never deleted, moved here whole, with why. */
export const DUPLICATES_COLLECTION = 'integrations_duplicates';
/** Where what a legacy record had to give up to fit today's rules goes, with its integration id. */
export const SET_ASIDE_COLLECTION = 'integrations_set_aside';
const LEASE_ID = '__lease__';
const COMMAND_NOT_FOUND = 59;

export interface MigrationOptions {
  /** Bound on each operation the server runs. */
  maxTimeMS: number;
  /** Told of what a migration did, record by record: names and ids, never values. */
  log?: (msg: string, fields: Record<string, unknown>) => void;
  /** How long the lease lasts unless renewed (it is renewed every third of it while migrations run). */
  leaseMs?: number;
  /** Stops between steps (SIGTERM): the lease is released and nothing half-recorded is left. */
  signal?: AbortSignal;
  now?: Date;
}

interface MigrationContext {
  db: Db;
  now: Date;
  maxTimeMS: number;
  writeConcern: WriteConcernSettings;
  log: (msg: string, fields: Record<string, unknown>) => void;
  signal?: AbortSignal;
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
  checkedAt?: Date;
}

/** Another runner holds the lease: migrations are being applied elsewhere right now (retry later). */
export class MigrationLeaseHeld extends Error {
  constructor(
    readonly holder: string | undefined,
    /** How long the holder's lease lasts unless it renews it, by the server's clock. */
    readonly remainingMs: number,
  ) {
    super(
      `another runner (${holder ?? 'unknown'}) is applying migrations right now (its lease ends in ` +
        `${Math.max(0, Math.round(remainingMs / 1000))} s unless renewed)`,
    );
    this.name = 'MigrationLeaseHeld';
  }
}

/** This runner's lease expired or was taken while it worked: it stopped before recording anything more. */
export class MigrationLeaseLost extends Error {
  constructor() {
    super(
      'the migration lease was lost (expired or taken by another runner) while applying migrations: nothing more ' +
        'was recorded; run them again',
    );
    this.name = 'MigrationLeaseLost';
  }
}

/** What `hello` (or, before MongoDB 4.4.2, `isMaster`) says of the server: replica set, mongos or standalone. */
export async function serverKind(db: Db): Promise<'replica set' | 'mongos' | 'standalone'> {
  let hello: Document;
  try {
    hello = await db.admin().command({ hello: 1 });
  } catch (error) {
    if ((error as { code?: unknown }).code !== COMMAND_NOT_FOUND) throw error;
    hello = await db.admin().command({ isMaster: 1 });
  }
  if (typeof hello.setName === 'string') return 'replica set';
  return hello.msg === 'isdbgrid' ? 'mongos' : 'standalone';
}

export const MIGRATIONS: readonly Migration[] = [
  {
    // Records written by the Python store have no version nor timestamps: give them the version and the
    // creation time the domain's rules say (storedVersion, storedTimes), so ETags and If-Match work on them.
    name: '001-backfill-version-and-timestamps',
    async up({ db, maxTimeMS, writeConcern }) {
      const createdAt = {
        $ifNull: [
          '$createdAt',
          {
            $cond: [{ $eq: [{ $type: '$_id' }, 'objectId'] }, { $toDate: '$_id' }, { $literal: UNKNOWN_CREATION_TIME }],
          },
        ],
      };
      await db
        .collection(INTEGRATIONS_COLLECTION)
        .updateMany(
          atVersion(1) as Filter<Document>,
          [
            { $set: { version: { $ifNull: ['$version', 1] }, createdAt } },
            { $set: { updatedAt: { $ifNull: ['$updatedAt', '$createdAt'] } } },
          ],
          { maxTimeMS, writeConcern },
        );
    },
  },
  {
    // The old store had no unique index and its seed upserts raced: one id may have several records.
    // One stays (see chooseAmongDuplicates); each other one is moved whole to integrations_duplicates.
    name: '002-resolve-duplicate-ids',
    up: resolveDuplicates,
  },
  {
    // A record the admin UI could not save back (a facebook with an extra settings key, settings: null, a
    // missing name) is made to fit, and what it gave up is kept in integrations_set_aside.
    name: '003-fit-legacy-records',
    async up(context) {
      const records = await context.db
        .collection<StoredIntegration & { _id: unknown }>(INTEGRATIONS_COLLECTION)
        .find({}, { maxTimeMS: context.maxTimeMS })
        .toArray();
      for (const record of records) {
        context.signal?.throwIfAborted();
        await fitRecord(context, record);
      }
    },
  },
  {
    // After the duplicates are gone (again: the old store's seeding may have made new ones since 002), bounded
    // in time. On a replica set the build commits once the primary has it (commitQuorum 1): waiting for more
    // would block a set with a member down (a PSA set with its secondary down) for an index on a few records.
    // An equivalent unique index an operator made under another name is accepted as it is.
    name: '004-unique-index-on-id',
    async up(context) {
      const { db, maxTimeMS, log } = context;
      if (await uniqueIdIndex(db)) return;
      const replicaSet = (await serverKind(db)) === 'replica set';
      for (let attempt = 1; ; attempt += 1) {
        await resolveDuplicates(context);
        try {
          await db.collection(INTEGRATIONS_COLLECTION).createIndex(
            { id: 1 },
            {
              unique: true,
              name: ID_INDEX_NAME,
              maxTimeMS: Math.max(maxTimeMS, 60_000),
              ...(replicaSet ? { commitQuorum: 1 } : {}),
            },
          );
          break;
        } catch (error) {
          if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
          if (attempt >= 3) {
            throw new PermanentStoreFault(
              'duplicate ids keep appearing in integrations while the unique index on id is built: something still ' +
                'inserts them ' +
                "(the old store's ensure_default_integrations in the chatbot's manage.py migrate, MIGRATION.md step " +
                '6); stop it, then run the migrations again',
              { cause: error },
            );
          }
          log('duplicate ids appeared while the index was built; resolving them again', { attempt });
        }
      }
      log('index built', { index: ID_INDEX_NAME, commitQuorum: replicaSet ? 1 : 'standalone' });
    },
  },
];

/** Moves every record but one of each duplicated id to integrations_duplicates (see chooseAmongDuplicates). */
async function resolveDuplicates({ db, now, maxTimeMS, writeConcern, log, signal }: MigrationContext): Promise<void> {
  const integrations = db.collection(INTEGRATIONS_COLLECTION);
  const backup = db.collection(DUPLICATES_COLLECTION);
  const duplicated = await integrations
    .aggregate<{ _id: unknown }>([{ $group: { _id: '$id', count: { $sum: 1 } } }, { $match: { count: { $gt: 1 } } }], {
      maxTimeMS,
    })
    .toArray();
  for (const { _id: id } of duplicated) {
    signal?.throwIfAborted();
    // Natural order, as the old store's find_one saw them.
    const records = await integrations.find({ id: { $eq: id } }, { maxTimeMS }).toArray();
    if (records.length < 2) continue;
    const { kept, extras, why } = chooseAmongDuplicates(records as (Document & { version?: number })[]);
    for (const first of extras) {
      let extra: Document | null = first;
      for (let attempt = 1; extra !== null; attempt += 1) {
        // The copy is written (or brought up to date, when an earlier run stopped halfway) before the record goes,
        // and the record goes only while it is still what was copied: a write of the old store in between is
        // copied again, never lost.
        await backup.replaceOne(
          { _id: extra._id },
          { ...extra, movedAt: now, keptRecord: kept._id, reason: why },
          { upsert: true, writeConcern },
        );
        const { deletedCount } = await integrations.deleteOne(unchangedSince(extra, Object.keys(extra)), {
          writeConcern,
        });
        if (deletedCount === 1) break;
        if (attempt >= FIT_ATTEMPTS)
          throw new Error(
            `duplicate ${String(extra._id)} of id ${String(id)} changed on every attempt to move it: stop the old ` +
              `store's writes, then run the migrations again`,
          );
        extra = await integrations.findOne({ _id: extra._id }, { maxTimeMS });
      }
    }
    log('duplicate id resolved', {
      id,
      kept: String(kept._id),
      moved: extras.map((e) => String(e._id)),
      to: DUPLICATES_COLLECTION,
      rule: why,
    });
  }
}

/** The filter of a field still holding what was read: absent, null, or that very value. */
function sameAs(value: unknown): Document {
  if (value === undefined) return { $exists: false };
  if (value === null) return { $type: 'null' };
  return { $eq: value };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/**
 * The filter of `record` while each of `fields` still holds what was read. An object (settings) is compared key
 * by key in any order: a JavaScript object lists integer-like keys first, so the order it was read in is not
 * always the order the server keeps, and a whole-object $eq would then never match. ($and short-circuits, so
 * $objectToArray only meets an object.)
 */
export function unchangedSince(record: Document, fields: readonly string[]): Document {
  const filter: Document = {};
  const objects: Document[] = [];
  for (const field of fields) {
    const value = record[field];
    if (!isPlainObject(value)) {
      filter[field] = sameAs(value);
      continue;
    }
    const entries = Object.entries(value).map(([k, v]) => ({ k, v }));
    objects.push({
      $and: [
        { $eq: [{ $type: `$${field}` }, 'object'] },
        { $setEquals: [{ $objectToArray: `$${field}` }, { $literal: entries }] },
      ],
    });
  }
  return objects.length > 0 ? { ...filter, $expr: { $and: objects } } : filter;
}

/** What a fit set aside, as entries a later run can add to without losing any (values as extended JSON). */
function setAsideEntries(setAside: Record<string, unknown>): Document[] {
  return Object.entries(setAside).flatMap(([field, value]) =>
    field === 'settings' && typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.entries(value).map(([key, inner]) => ({
          field,
          key,
          value: BSON.EJSON.stringify(inner as never, { relaxed: false }),
        }))
      : [{ field, value: BSON.EJSON.stringify(value as never, { relaxed: false }) }],
  );
}

const FIT_ATTEMPTS = 10;

/**
 * Fits one record (fitToRules, as reads do), only while it is still what was read: the old store's `$set`
 * never moves `version`, so the filter holds every field the fit looked at. A record changed meanwhile is read
 * again and fitted again.
 */
async function fitRecord(
  { db, now, maxTimeMS, writeConcern, log }: MigrationContext,
  first: StoredIntegration & { _id: unknown },
): Promise<void> {
  const integrations = db.collection<StoredIntegration & { _id: unknown }>(INTEGRATIONS_COLLECTION);
  let record: (StoredIntegration & { _id: unknown }) | null = first;
  for (let attempt = 1; record !== null && attempt <= FIT_ATTEMPTS; attempt += 1) {
    const { fields, setAside, notes } = fitToRules(record);
    if (notes.length === 0) return;
    const entries = setAsideEntries(setAside);
    if (entries.length > 0) {
      // Merged, never replaced: a run that stopped halfway and a record that changed keep every value set aside.
      await db.collection(SET_ASIDE_COLLECTION).updateOne(
        { _id: record._id as never },
        {
          $setOnInsert: { integrationId: record.id, firstAt: now },
          $set: { lastAt: now },
          $addToSet: { entries: { $each: entries }, notes: { $each: notes } },
        },
        { upsert: true, writeConcern },
      );
    }
    const version = storedVersion(record);
    const read = unchangedSince(record, ['_id', 'version', 'name', 'description', 'status', 'settings']);
    const outcome = await integrations.updateOne(
      read as never,
      { $set: { ...fields, version: version + 1, updatedAt: now } },
      { maxTimeMS, writeConcern },
    );
    if (outcome.matchedCount === 1) {
      log('legacy record fitted', {
        id: record.id,
        notes,
        setAsideIn: entries.length > 0 ? SET_ASIDE_COLLECTION : undefined,
      });
      return;
    }
    record = await integrations.findOne({ _id: record._id } as never, { maxTimeMS });
  }
  if (record !== null)
    log('legacy record left as it is: it changed on every attempt to fit it; reads fit it the same way', {
      id: record.id,
      attempts: FIT_ATTEMPTS,
    });
}

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
    throw new PermanentStoreFault(
      `the index ${found.name} on { id: 1 } is not unique: drop it (db.integrations.dropIndex("${found.name}")) and ` +
        `start again`,
    );
  }
  return found ? (found.name as string) : null;
}

export async function pendingMigrations(db: Db): Promise<string[]> {
  const applied = await translateDriverErrors('find', () =>
    db
      .collection<MigrationRecord>(MIGRATIONS_COLLECTION)
      .find({ _id: { $ne: LEASE_ID } })
      .toArray(),
  );
  const names = new Set(applied.map((record) => record._id));
  return MIGRATIONS.filter((migration) => !names.has(migration.name)).map((migration) => migration.name);
}

export const DEFAULT_LEASE_MS = 60_000;

/** Applies every pending migration in order under a lease; answers the names it applied. */
export async function applyPendingMigrations(db: Db, options: MigrationOptions): Promise<string[]> {
  const now = options.now ?? new Date();
  const writeConcern: WriteConcernSettings = { w: 'majority', wtimeoutMS: Math.max(options.maxTimeMS, 10_000) };
  const context: MigrationContext = {
    db,
    now,
    maxTimeMS: options.maxTimeMS,
    writeConcern,
    log: options.log ?? (() => {}),
    signal: options.signal,
  };
  const lease = new Lease(db, options.leaseMs ?? DEFAULT_LEASE_MS, writeConcern);
  await lease.take();
  try {
    const pending = new Set(await pendingMigrations(db));
    const applied: string[] = [];
    for (const migration of MIGRATIONS.filter((m) => pending.has(m.name))) {
      options.signal?.throwIfAborted();
      await translateDriverErrors(migration.name, () => migration.up(context));
      // Recorded only by the runner that still holds the lease (a runner paused past its lease must not).
      if (!(await lease.renew())) throw new MigrationLeaseLost();
      await ignoreDuplicateKey(() =>
        db
          .collection<MigrationRecord>(MIGRATIONS_COLLECTION)
          .insertOne({ _id: migration.name, appliedAt: now }, { writeConcern }),
      );
      applied.push(migration.name);
    }
    return applied;
  } finally {
    await lease.release();
  }
}

/** The runners' lease in `schema_migrations`: times from the server's clock, renewed while held. */
class Lease {
  private readonly owner = randomUUID();
  private renewing?: NodeJS.Timeout;
  private lost = false;
  private readonly leases;

  constructor(
    db: Db,
    private readonly leaseMs: number,
    private readonly writeConcern: WriteConcernSettings,
  ) {
    this.leases = db.collection<MigrationRecord>(MIGRATIONS_COLLECTION);
  }

  /** Takes the lease when it is free or expired; throws MigrationLeaseHeld otherwise. */
  async take(): Promise<void> {
    const free = { $or: [{ $not: ['$expiresAt'] }, { $lte: ['$expiresAt', '$$NOW'] }] };
    // One atomic upsert decides on the server's clock: $expr is not allowed in an upsert's filter, so the
    // pipeline keeps the holder's fields unless the lease is free; checkedAt says when (server time) it looked.
    const takeOrRead = () =>
      this.leases.findOneAndUpdate(
        { _id: LEASE_ID },
        [
          {
            $set: {
              owner: { $cond: [free, this.owner, '$owner'] },
              expiresAt: { $cond: [free, { $add: ['$$NOW', this.leaseMs] }, '$expiresAt'] },
              checkedAt: '$$NOW',
            },
          },
        ],
        { upsert: true, returnDocument: 'after', writeConcern: this.writeConcern },
      );
    // Two runners inserting the lease at once: the server retries the loser's upsert as an update, and should it
    // not, the loser's second attempt finds the lease there.
    const lease = await translateDriverErrors('lease', () =>
      takeOrRead().catch((error: { code?: unknown }) => {
        if (error.code !== DUPLICATE_KEY) throw error;
        return takeOrRead();
      }),
    );
    if (lease?.owner !== this.owner) {
      const remainingMs =
        lease?.expiresAt && lease.checkedAt ? lease.expiresAt.getTime() - lease.checkedAt.getTime() : this.leaseMs;
      throw new MigrationLeaseHeld(lease?.owner, remainingMs);
    }
    this.renewing = setInterval(
      () => {
        this.renew().catch(() => undefined);
      },
      Math.max(1_000, this.leaseMs / 3),
    );
    this.renewing.unref();
  }

  /** Moves the lease's end a whole lease from now (server time); false when this runner no longer holds it. */
  async renew(): Promise<boolean> {
    if (this.lost) return false;
    const outcome = await translateDriverErrors('lease', () =>
      this.leases.updateOne(
        { _id: LEASE_ID, owner: this.owner },
        [{ $set: { expiresAt: { $add: ['$$NOW', this.leaseMs] } } }],
        { writeConcern: this.writeConcern },
      ),
    );
    if (outcome.matchedCount !== 1) this.lost = true;
    return !this.lost;
  }

  async release(): Promise<void> {
    clearInterval(this.renewing);
    await this.leases
      .deleteOne({ _id: LEASE_ID, owner: this.owner }, { writeConcern: this.writeConcern })
      .catch(() => undefined);
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
