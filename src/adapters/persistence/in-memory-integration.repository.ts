// The embedded store: a Map of stored records in this process. Nothing survives a restart; it is the default
// outside production. It keeps records as a store does (credentials sealed when a key is set, read through
// the codec), and tells its change feed of every write.
import { IntegrationNotFoundError, VersionConflictError } from '../../domain/errors';
import type { Integration, StoredIntegration } from '../../domain/integration.entity';
import { isValidId } from '../../domain/integration-rules';
import { storedVersion } from '../../domain/legacy-records';
import {
  LIST_CEILING,
  type InsertMissingResult,
  type IntegrationRepository,
} from '../../application/integration-repository.port';
import { ChangeListeners, type ChangeFeed, type ChangeListener } from './change-feed';
import { CredentialCipher } from './credential-cipher';
import type { CredentialStore } from './credential-resealer';
import { RecordCodec, readableOnly } from './record-codec';

/**
 * The records themselves and the feed of their changes: what two repositories share when they stand for two
 * replicas of the service over one store (tests), each with its own codec (keys).
 */
export class InMemoryRecords {
  // Frozen records, so a codec reads each one once.
  readonly records = new Map<string, StoredIntegration>();
  // Every change happens here, in this process: the feed is always live.
  readonly feed = new ChangeListeners('live');

  /** `stored`: records already in the store, as another writer (the old Python store) may have left them. */
  constructor(stored: readonly StoredIntegration[] = []) {
    for (const record of stored) this.records.set(record.id, Object.freeze({ ...record }));
  }
}

export class InMemoryIntegrationRepository implements IntegrationRepository, CredentialStore, ChangeFeed {
  private readonly records: Map<string, StoredIntegration>;
  private readonly feed: ChangeListeners;

  /** `stored`: records already in the store, or records shared with another repository. */
  constructor(
    stored: readonly StoredIntegration[] | InMemoryRecords = [],
    private readonly codec = new RecordCodec(new CredentialCipher(undefined)),
  ) {
    const shared = stored instanceof InMemoryRecords ? stored : new InMemoryRecords(stored);
    this.records = shared.records;
    this.feed = shared.feed;
  }

  async list(): Promise<Integration[]> {
    const ids = [...this.records.keys()].filter(isValidId).sort(compareIds).slice(0, LIST_CEILING);
    return readableOnly(
      ids.map((id) => this.records.get(id)!),
      (record) => this.codec.toEntity(record),
    );
  }

  async findById(id: string): Promise<Integration | null> {
    const record = this.records.get(id);
    return record ? this.codec.toEntity(record) : null;
  }

  async replace(next: Integration): Promise<void> {
    const stored = this.records.get(next.id);
    if (!stored) throw new IntegrationNotFoundError(next.id);
    if (storedVersion(stored) !== next.version - 1) throw new VersionConflictError(next.id, storedVersion(stored));
    this.store(this.codec.toRecord(next));
  }

  async insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    const result: InsertMissingResult = { created: [], existing: [] };
    for (const integration of integrations) {
      if (this.records.has(integration.id)) {
        result.existing.push(integration.id);
      } else {
        this.store(this.codec.toRecord(integration));
        result.created.push(integration.id);
      }
    }
    return result;
  }

  async ping(): Promise<void> {}

  subscribe(listener: ChangeListener): () => void {
    return this.feed.subscribe(listener);
  }

  async storedRecords(): Promise<StoredIntegration[]> {
    return [...this.records.values()];
  }

  async *eachStoredRecord(): AsyncIterable<StoredIntegration> {
    yield* this.records.values();
  }

  async swapSetting(id: string, key: string, from: string, to: string): Promise<boolean> {
    const stored = this.records.get(id);
    const settings = stored?.settings;
    if (!stored || !settings || !Object.hasOwn(settings, key) || settings[key] !== from) return false;
    this.store({ ...stored, settings: { ...settings, [key]: to } });
    return true;
  }

  /** Writes a record behind the repository's back, as another writer (the old Python store) would: tests. */
  writeBehind(record: StoredIntegration): void {
    this.store(record);
  }

  private store(record: StoredIntegration): void {
    this.records.set(record.id, Object.freeze(record));
    this.feed.changed(record.id);
  }
}

/** Byte order, as MongoDB sorts ASCII strings, so both adapters list in the same order. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
