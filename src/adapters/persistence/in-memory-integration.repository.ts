// The embedded store: a Map in this process. Nothing survives a restart; it is the default outside production.
import { IntegrationNotFoundError, VersionConflictError } from '../../domain/errors';
import { Integration, type IntegrationChanges } from '../../domain/integration.entity';
import type { InsertMissingResult, IntegrationRepository, UpdateOptions } from '../../application/integration-repository.port';

export class InMemoryIntegrationRepository implements IntegrationRepository {
  // Records are kept as primitives so no caller can mutate what is stored through a returned entity.
  private readonly records = new Map<string, ReturnType<Integration['toPrimitives']>>();

  constructor(seed: readonly Integration[] = []) {
    for (const integration of seed) this.records.set(integration.id, integration.toPrimitives());
  }

  async list(): Promise<Integration[]> {
    return [...this.records.keys()].sort(compareIds).map((id) => Integration.fromPrimitives(this.records.get(id)!));
  }

  async findById(id: string): Promise<Integration | null> {
    const found = this.records.get(id);
    return found ? Integration.fromPrimitives(found) : null;
  }

  async update(id: string, changes: IntegrationChanges, { expectedVersion, now }: UpdateOptions): Promise<Integration> {
    const found = this.records.get(id);
    if (!found) throw new IntegrationNotFoundError(id);
    if (expectedVersion !== undefined && found.version !== expectedVersion) throw new VersionConflictError(id, expectedVersion);
    const updated = Integration.fromPrimitives(found).withChanges(changes, now);
    this.records.set(id, updated.toPrimitives());
    return updated;
  }

  async insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    const result: InsertMissingResult = { created: [], existing: [] };
    for (const integration of integrations) {
      if (this.records.has(integration.id)) {
        result.existing.push(integration.id);
      } else {
        this.records.set(integration.id, integration.toPrimitives());
        result.created.push(integration.id);
      }
    }
    return result;
  }

  async ping(): Promise<void> {}
}

/** Byte order, as MongoDB sorts ASCII strings, so both adapters list in the same order. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
