// What the composition root plugs behind the repository port: a store adapter with its life cycle.
import type { IntegrationRepository } from '../../application/integration-repository.port';
import type { ChangeFeed } from './change-feed';
import type { CredentialStore } from './credential-resealer';

export interface Store {
  kind: 'memory' | 'mongodb';
  repository: IntegrationRepository & CredentialStore;
  /** Tells the cache in front of the store of every change, whoever made it. */
  feed: ChangeFeed;
  /**
   * Connects, applies pending migrations when asked to, checks the store can serve (indexes, every stored
   * credential opens); throws while the store is unreachable, and PermanentStoreFault on a fault no retry mends.
   */
  prepare(): Promise<void>;
  close(): Promise<void>;
}

/** A fault of the store's own state or setup that no retry mends; its message says what to do. */
export class PermanentStoreFault extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentStoreFault';
  }
}
