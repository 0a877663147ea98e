// The port every store of integrations implements; the contract suite in test/contract binds them.
import type { Integration, IntegrationChanges } from '../domain/integration.entity';

export const INTEGRATION_REPOSITORY = Symbol.for('IntegrationRepository');

export interface UpdateOptions {
  /** When given, the write happens only if the stored version is still this one (else VersionConflictError). */
  expectedVersion?: number;
  now: Date;
}

export interface InsertMissingResult {
  created: string[];
  existing: string[];
}

export interface IntegrationRepository {
  /** Every record, sorted by id. */
  list(): Promise<Integration[]>;
  findById(id: string): Promise<Integration | null>;
  /**
   * Applies `changes` atomically and bumps the version by one; never creates.
   * Throws IntegrationNotFoundError for an unknown id, VersionConflictError when `expectedVersion` is stale.
   */
  update(id: string, changes: IntegrationChanges, options: UpdateOptions): Promise<Integration>;
  /** Inserts each record whose id is absent; never touches one that exists, even when racing other callers. */
  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult>;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
}
