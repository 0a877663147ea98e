// The MongoDB store: collection `integrations` of the chatbot's database, read as the old Python store left it.
//
// Consistency, as production needs it on a replica set:
// - every write waits for a majority (`w: 'majority'`, with a wtimeout below STORE_TIMEOUT_MS), so a write
//   this service acknowledged is never rolled back by a failover, and the version it issued never names other
//   content later; a majority that does not answer in time is a 503 (the write may still land: read first);
// - every read goes to the primary with read concern `majority`: it sees every write this service
//   acknowledged (read your writes, on any replica of the service), and never a write that may roll back.
//   Without a primary, reads fail and the cache's stale copy answers instead.
import type {
  Collection,
  Db,
  Document,
  Filter,
  ReadConcernLike,
  ReadPreferenceLike,
  WriteConcernSettings,
} from 'mongodb';
import { IntegrationNotFoundError, VersionConflictError } from '../../../domain/errors';
import type { Integration, StoredIntegration } from '../../../domain/integration.entity';
import { WRITABLE_FIELD_NAMES } from '../../../domain/integration-fields';
import { CREDENTIAL_KEYS, isValidId } from '../../../domain/integration-rules';
import { LEGACY_VERSION, storedVersion } from '../../../domain/legacy-records';
import {
  LIST_CEILING,
  type InsertMissingResult,
  type IntegrationRepository,
} from '../../../application/integration-repository.port';
import type { CredentialStore } from '../credential-resealer';
import { readableOnly, type RecordCodec } from '../record-codec';
import { DUPLICATE_KEY, translateDriverErrors } from './mongo-errors';

export const INTEGRATIONS_COLLECTION = 'integrations';
export const ID_INDEX_NAME = 'integrations_id_unique';

/** A stored record. Records the Python store wrote have no version nor timestamps, and must still load. */
export type IntegrationDocument = StoredIntegration & { _id?: unknown };

/** What every operation of this store is sent with. */
export interface Consistency {
  readPreference: ReadPreferenceLike;
  readConcern: ReadConcernLike;
  writeConcern: WriteConcernSettings;
}

/** Majority writes bounded by `wtimeoutMS`, majority reads from the primary (see the top of this file). */
export function consistency(wtimeoutMS: number): Consistency {
  return { readPreference: 'primary', readConcern: { level: 'majority' }, writeConcern: { w: 'majority', wtimeoutMS } };
}

/** The filter of a record at `version`: the old store never wrote one, so a record without one (or null) is at
 * LEGACY_VERSION. */
export function atVersion(version: number): Filter<IntegrationDocument> {
  return version === LEGACY_VERSION ? { version: { $in: [LEGACY_VERSION, null] } } : { version: { $eq: version } };
}

/** Query values are always plain strings under $eq, never objects a client could have shaped. */
export function byId(id: string): Filter<IntegrationDocument> {
  return { id: { $eq: String(id) } };
}

export class MongoIntegrationRepository implements IntegrationRepository, CredentialStore {
  private readonly collection: Collection<IntegrationDocument>;

  /** `maxTimeMS`: the server gives up on an operation after this long; `wtimeoutMS`: on waiting for a majority. */
  constructor(
    private readonly db: Db,
    private readonly codec: RecordCodec,
    private readonly options: { maxTimeMS?: number; wtimeoutMS?: number } = {},
  ) {
    this.collection = db.collection<IntegrationDocument>(
      INTEGRATIONS_COLLECTION,
      consistency(options.wtimeoutMS ?? 2_000),
    );
  }

  /** The unique index on `id` that makes racing seeds end with one record per id. */
  async ensureIndexes(): Promise<void> {
    await translateDriverErrors('createIndex', () =>
      this.collection.createIndex({ id: 1 }, { unique: true, name: ID_INDEX_NAME }),
    );
  }

  async list(): Promise<Integration[]> {
    const docs = await translateDriverErrors('find', () =>
      this.collection.find({}, { maxTimeMS: this.options.maxTimeMS }).sort({ id: 1 }).limit(LIST_CEILING).toArray(),
    );
    // A record whose id no client can name (the old store took any string) is not listed either.
    return readableOnly(
      docs.filter((doc) => isValidId(doc.id)),
      (doc) => this.toEntity(doc),
    );
  }

  async findById(id: string): Promise<Integration | null> {
    const doc = await translateDriverErrors('findOne', () =>
      this.collection.findOne(byId(id), { maxTimeMS: this.options.maxTimeMS }),
    );
    return doc ? this.toEntity(doc) : null;
  }

  async replace(next: Integration): Promise<void> {
    // The entity computed the whole record (the domain's change rule): store it only if nobody wrote since it
    // was read. `$set` of plain values never evaluates them, so "$secret" stays a string.
    const record = this.codec.toRecord(next);
    const absent = WRITABLE_FIELD_NAMES.filter((field) => record[field] === undefined);
    const update: Document = {
      $set: record,
      ...(absent.length > 0 ? { $unset: Object.fromEntries(absent.map((field) => [field, ''])) } : {}),
    };
    const filter: Filter<IntegrationDocument> = { ...byId(next.id), ...atVersion(next.version - 1) };
    const outcome = await translateDriverErrors('updateOne', () =>
      this.collection.updateOne(filter, update, { maxTimeMS: this.options.maxTimeMS }),
    );
    if (outcome.matchedCount === 1) return;
    // Nothing matched: either no such record, or another write came first. Nothing was written either way.
    const current = await translateDriverErrors('findOne', () =>
      this.collection.findOne(byId(next.id), { maxTimeMS: this.options.maxTimeMS }),
    );
    if (!current) throw new IntegrationNotFoundError(next.id);
    throw new VersionConflictError(next.id, storedVersion(current));
  }

  async insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    const result: InsertMissingResult = { created: [], existing: [] };
    for (const integration of integrations) {
      const created = await this.insertIfAbsent(integration);
      (created ? result.created : result.existing).push(integration.id);
    }
    return result;
  }

  async ping(): Promise<void> {
    await translateDriverErrors('ping', () => this.db.command({ ping: 1 }));
  }

  async *eachStoredRecord(): AsyncIterable<StoredIntegration> {
    // A cursor, in batches: the start-up check and `npm run reseal` hold one batch at a time, never the collection.
    const cursor = this.collection.find({}, { maxTimeMS: this.options.maxTimeMS, batchSize: 100 });
    try {
      for (;;) {
        const doc = await translateDriverErrors('find', () => cursor.next());
        if (doc === null) return;
        const { _id, ...stored } = doc;
        yield stored;
      }
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  async swapSetting(id: string, key: string, from: string, to: string): Promise<boolean> {
    if (!CREDENTIAL_KEYS.includes(key)) throw new Error(`${key} is not a credential setting`);
    const path = `settings.${key}`;
    const outcome = await translateDriverErrors('updateOne', () =>
      this.collection.updateOne(
        { ...byId(id), [path]: { $eq: from } },
        { $set: { [path]: to } },
        { maxTimeMS: this.options.maxTimeMS },
      ),
    );
    return outcome.modifiedCount === 1;
  }

  /** A document as stored, read through the codec; `createdAt` of a legacy record from its ObjectId. */
  toEntity(doc: IntegrationDocument): Integration {
    const { _id, ...stored } = doc;
    return this.codec.toEntity(stored, objectIdTime(_id));
  }

  private async insertIfAbsent(integration: Integration): Promise<boolean> {
    try {
      const outcome = await translateDriverErrors('updateOne', () =>
        // $setOnInsert carries `id` too, so the inserted record is whole however the server seeds an
        // upsert from the filter (setting a path to the value the filter already fixed is no conflict).
        this.collection.updateOne(
          byId(integration.id),
          { $setOnInsert: this.codec.toRecord(integration) },
          { upsert: true, maxTimeMS: this.options.maxTimeMS },
        ),
      );
      return outcome.upsertedCount === 1;
    } catch (error) {
      // Two upserts racing on a missing id: the unique index lets one insert; the loser finds it existing.
      if ((error as { code?: unknown }).code === DUPLICATE_KEY) return false;
      throw error;
    }
  }
}

/** When MongoDB says a document was made: the time in its ObjectId. */
export function objectIdTime(id: unknown): Date | undefined {
  const candidate = id as { getTimestamp?: () => Date } | undefined;
  return typeof candidate?.getTimestamp === 'function' ? candidate.getTimestamp() : undefined;
}
