// The MongoDB store: collection `integrations` of the chatbot's database, read as the old Python store left it.
import type { Collection, Db, Document, Filter, ObjectId } from 'mongodb';
import { IntegrationNotFoundError, VersionConflictError } from '../../domain/errors';
import { Integration, type StoredIntegration } from '../../domain/integration.entity';
import type { InsertMissingResult, IntegrationRepository } from '../../application/integration-repository.port';
import { CREDENTIAL_KEYS } from '../../domain/integration-rules';
import type { CredentialStore } from './credential-resealer';
import { DUPLICATE_KEY, translateDriverErrors } from './mongo-errors';

export const INTEGRATIONS_COLLECTION = 'integrations';
export const ID_INDEX_NAME = 'integrations_id_unique';

/** A stored record. Records the Python store wrote have no version nor timestamps, and must still load. */
export type IntegrationDocument = StoredIntegration & { _id?: ObjectId | unknown };

export class MongoIntegrationRepository implements IntegrationRepository, CredentialStore {
  private readonly collection: Collection<IntegrationDocument>;

  /** `maxTimeMS`: the server gives up on an operation after this long. */
  constructor(
    private readonly db: Db,
    private readonly options: { maxTimeMS?: number } = {},
  ) {
    this.collection = db.collection<IntegrationDocument>(INTEGRATIONS_COLLECTION);
  }

  /** The unique index on `id` that makes racing seeds end with one record per id. */
  async ensureIndexes(): Promise<void> {
    await translateDriverErrors('createIndex', () => this.collection.createIndex({ id: 1 }, { unique: true, name: ID_INDEX_NAME }));
  }

  async list(): Promise<Integration[]> {
    const docs = await translateDriverErrors('find', () => this.collection.find({}, { maxTimeMS: this.options.maxTimeMS }).sort({ id: 1 }).toArray());
    return docs.map(toEntity);
  }

  async findById(id: string): Promise<Integration | null> {
    const doc = await translateDriverErrors('findOne', () => this.collection.findOne(byId(id), { maxTimeMS: this.options.maxTimeMS }));
    return doc ? toEntity(doc) : null;
  }

  async replace(next: Integration): Promise<void> {
    // The entity computed the whole record (the domain's change rule): store it only if nobody wrote
    // since it was read. `$set` of plain values never evaluates them, so "$secret" stays a string.
    const filter: Filter<IntegrationDocument> = { ...byId(next.id), ...atVersion(next.version - 1) };
    const outcome = await translateDriverErrors('updateOne', () =>
      this.collection.updateOne(filter, { $set: toDocument(next) }, { maxTimeMS: this.options.maxTimeMS }),
    );
    if (outcome.matchedCount === 1) return;
    // Nothing matched: either no such record, or another write came first. Nothing was written either way.
    const current = await this.findById(next.id);
    if (!current) throw new IntegrationNotFoundError(next.id);
    throw new VersionConflictError(next.id, current.version);
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

  async storedRecords(): Promise<StoredIntegration[]> {
    const docs = await translateDriverErrors('find', () => this.collection.find({}, { maxTimeMS: this.options.maxTimeMS }).toArray());
    return docs.map(({ _id, ...stored }) => stored);
  }

  async swapSetting(id: string, key: string, from: string, to: string): Promise<boolean> {
    if (!CREDENTIAL_KEYS.includes(key)) throw new Error(`${key} is not a credential setting`);
    const path = `settings.${key}`;
    const outcome = await translateDriverErrors('updateOne', () =>
      this.collection.updateOne({ ...byId(id), [path]: { $eq: from } }, { $set: { [path]: to } }, { maxTimeMS: this.options.maxTimeMS }),
    );
    return outcome.modifiedCount === 1;
  }

  private async insertIfAbsent(integration: Integration): Promise<boolean> {
    try {
      const outcome = await translateDriverErrors('updateOne', () =>
        // $setOnInsert carries `id` too, so the inserted record is whole however the server seeds an
        // upsert from the filter (setting a path to the value the filter already fixed is no conflict).
        this.collection.updateOne(byId(integration.id), { $setOnInsert: toDocument(integration) }, { upsert: true, maxTimeMS: this.options.maxTimeMS }),
      );
      return outcome.upsertedCount === 1;
    } catch (error) {
      // Two upserts racing on a missing id: the unique index lets one insert; the loser finds it existing.
      if ((error as { code?: unknown }).code === DUPLICATE_KEY) return false;
      throw error;
    }
  }
}

/** Query values are always plain strings under $eq, never objects a client could have shaped. */
function byId(id: string): Filter<IntegrationDocument> {
  return { id: { $eq: String(id) } };
}

/** Pipeline expression: the record's createdAt, else (a legacy record) the time in its ObjectId, else `now`. */
export function createdAtOrObjectIdTime(now: Date): Document {
  return { $ifNull: ['$createdAt', { $convert: { input: '$_id', to: 'date', onError: { $literal: now }, onNull: { $literal: now } } }] };
}

function atVersion(version: number): Filter<IntegrationDocument> {
  // A legacy record without `version` is at version 1.
  return version === 1 ? { $or: [{ version: { $eq: 1 } }, { version: { $exists: false } }] } : { version: { $eq: version } };
}

function toDocument(integration: Integration): IntegrationDocument {
  return integration.toStored();
}

/** A document as stored; the entity fills what the old store did not write, `createdAt` from the ObjectId. */
export function toEntity(doc: IntegrationDocument): Integration {
  const { _id, ...stored } = doc;
  return Integration.restore({ ...stored, createdAt: doc.createdAt ?? objectIdTime(_id) });
}

function objectIdTime(id: unknown): Date | undefined {
  const candidate = id as { getTimestamp?: () => Date } | undefined;
  return typeof candidate?.getTimestamp === 'function' ? candidate.getTimestamp() : undefined;
}
