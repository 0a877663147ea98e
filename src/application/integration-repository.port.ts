// The port every store of integrations implements; the contract suite in test/contract binds them.
import type { Integration } from '../domain/integration.entity';

export const INTEGRATION_REPOSITORY = Symbol.for('IntegrationRepository');

export interface InsertMissingResult {
  created: string[];
  existing: string[];
}

export interface ReadOptions {
  /** Read the store itself, never a copy kept for speed: what an edit's version check relies on. */
  fresh?: boolean;
}

/** The most records a list answers: the first ones by id. A chatbot has a handful; this bounds a store gone wrong. */
export const LIST_CEILING = 1_000;

export interface IntegrationRepository {
  /**
   * The records sorted by id, at most LIST_CEILING. A record that cannot be read here (UnreadableRecordError: a
   * credential sealed with a key this replica lacks, or altered) is left out, not the whole list: reading it by
   * id answers why.
   */
  list(): Promise<Integration[]>;
  findById(id: string, options?: ReadOptions): Promise<Integration | null>;
  /**
   * What findById would answer from a copy held in this process, now, without waiting: the record (or null for
   * none) when such a copy is current by the rules findById serves it by, undefined when findById would ask the
   * store. Only a store that keeps copies (the read cache) has it.
   */
  held?(id: string): Integration | null | undefined;
  /**
   * Stores `next` in place of the record it was changed from, atomically, and only while the stored
   * record is still at `next.version - 1`; never creates.
   * Throws IntegrationNotFoundError for an unknown id, VersionConflictError when another write came first.
   */
  replace(next: Integration): Promise<void>;
  /** Inserts each record whose id is absent; never touches one that exists, even when racing other callers. */
  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult>;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
}
