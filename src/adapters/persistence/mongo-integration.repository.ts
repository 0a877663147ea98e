// The MongoDB store: collection `integrations` of the chatbot's database, read as the old Python store left it.
import type { Collection, Db, Document, Filter, ObjectId } from 'mongodb';
import { IntegrationNotFoundError, VersionConflictError } from '../../domain/errors';
import { Integration, type IntegrationChanges } from '../../domain/integration.entity';
import type { Settings } from '../../domain/integration-rules';
import type { InsertMissingResult, IntegrationRepository, UpdateOptions } from '../../application/integration-repository.port';
import { DUPLICATE_KEY, translateDriverErrors } from './mongo-errors';

export const INTEGRATIONS_COLLECTION = 'integrations';
export const ID_INDEX_NAME = 'integrations_id_unique';

/** A stored record. Records the Python store wrote have no version nor timestamps, and must still load. */
export interface IntegrationDocument {
  _id?: ObjectId | unknown;
  id: string;
  name?: string;
  description?: string;
  status?: boolean;
  settings?: Settings;
  version?: number;
  createdAt?: Date;
  updatedAt?: Date;
}

const CHANGEABLE_FIELDS = ['name', 'description', 'status', 'settings'] as const;

export class MongoIntegrationRepository implements IntegrationRepository {
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

  async update(id: string, changes: IntegrationChanges, { expectedVersion, now }: UpdateOptions): Promise<Integration> {
    // An aggregation-pipeline update, so a legacy record without `version` goes from 1 to 2 like any other;
    // every client value is wrapped in $literal so a string such as "$secret" stays a string.
    const set: Document = {
      version: { $add: [{ $ifNull: ['$version', 1] }, 1] },
      createdAt: createdAtOrObjectIdTime(now),
      updatedAt: { $literal: now },
    };
    for (const field of CHANGEABLE_FIELDS) {
      if (changes[field] !== undefined) set[field] = { $literal: changes[field] };
    }
    const filter: Filter<IntegrationDocument> = expectedVersion === undefined ? byId(id) : { ...byId(id), ...atVersion(expectedVersion) };
    const updated = await translateDriverErrors('findOneAndUpdate', () =>
      this.collection.findOneAndUpdate(filter, [{ $set: set }], { returnDocument: 'after', maxTimeMS: this.options.maxTimeMS }),
    );
    if (updated) return toEntity(updated);
    // Nothing matched: either no such record, or the If-Match version is stale. Nothing was written either way.
    if (!(await this.findById(id))) throw new IntegrationNotFoundError(id);
    throw new VersionConflictError(id, expectedVersion!);
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
  return { ...integration.toPrimitives(), createdAt: integration.createdAt, updatedAt: integration.updatedAt };
}

export function toEntity(doc: IntegrationDocument): Integration {
  const createdAt = doc.createdAt ?? objectIdTime(doc._id) ?? new Date(0);
  return Integration.fromPrimitives({
    id: doc.id,
    name: doc.name ?? doc.id,
    description: doc.description ?? '',
    status: doc.status ?? false,
    settings: doc.settings ?? {},
    version: doc.version ?? 1,
    createdAt: createdAt.toISOString(),
    updatedAt: (doc.updatedAt ?? createdAt).toISOString(),
  });
}

function objectIdTime(id: unknown): Date | undefined {
  const candidate = id as { getTimestamp?: () => Date } | undefined;
  return typeof candidate?.getTimestamp === 'function' ? candidate.getTimestamp() : undefined;
}
