// The embedded store: a Map in this process. Nothing survives a restart; it is the default outside production.
import { IntegrationNotFoundError, VersionConflictError } from '../../domain/errors';
import { Integration, type StoredIntegration } from '../../domain/integration.entity';
import type { InsertMissingResult, IntegrationRepository } from '../../application/integration-repository.port';
import type { CredentialStore } from './credential-resealer';

export class InMemoryIntegrationRepository implements IntegrationRepository, CredentialStore {
  // Entities are frozen, so the store hands out the very records it holds.
  private readonly records = new Map<string, Integration>();

  /** `stored`: records already in the store, as another writer (the old Python store) may have left them. */
  constructor(stored: readonly (Integration | StoredIntegration)[] = []) {
    for (const record of stored) this.records.set(record.id, record instanceof Integration ? record : Integration.restore(record));
  }

  async list(): Promise<Integration[]> {
    return [...this.records.keys()].sort(compareIds).map((id) => this.records.get(id)!);
  }

  async findById(id: string): Promise<Integration | null> {
    return this.records.get(id) ?? null;
  }

  async replace(next: Integration): Promise<void> {
    const stored = this.records.get(next.id);
    if (!stored) throw new IntegrationNotFoundError(next.id);
    if (stored.version !== next.version - 1) throw new VersionConflictError(next.id, stored.version);
    this.records.set(next.id, next);
  }

  async insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    const result: InsertMissingResult = { created: [], existing: [] };
    for (const integration of integrations) {
      if (this.records.has(integration.id)) {
        result.existing.push(integration.id);
      } else {
        this.records.set(integration.id, integration);
        result.created.push(integration.id);
      }
    }
    return result;
  }

  async ping(): Promise<void> {}

  async storedRecords(): Promise<StoredIntegration[]> {
    return [...this.records.values()].map((integration) => integration.toStored());
  }

  async swapSetting(id: string, key: string, from: string, to: string): Promise<boolean> {
    const stored = this.records.get(id);
    if (!stored || !Object.hasOwn(stored.settings, key) || stored.settings[key] !== from) return false;
    this.records.set(id, stored.withStoredSettings({ ...stored.settings, [key]: to }));
    return true;
  }
}

/** Byte order, as MongoDB sorts ASCII strings, so both adapters list in the same order. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
