// Reports every store operation and every failure of the store to an observer (the service's metrics).
import { DomainError } from '../../domain/errors';
import type { Integration } from '../../domain/integration.entity';
import type { InsertMissingResult, IntegrationRepository } from '../../application/integration-repository.port';

export type StoreOperation = 'list' | 'findById' | 'replace' | 'insertMissing' | 'ping';

export interface StoreObserver {
  operation(operation: StoreOperation): void;
  /** `unavailable`: the store did not answer; `unexpected`: any other failure (a bug, a refused command). */
  failure(operation: StoreOperation, kind: 'unavailable' | 'unexpected'): void;
}

export class MeasuredIntegrationRepository implements IntegrationRepository {
  constructor(
    private readonly inner: IntegrationRepository,
    private readonly observer: StoreObserver,
  ) {}

  list(): Promise<Integration[]> {
    return this.measured('list', () => this.inner.list());
  }

  findById(id: string): Promise<Integration | null> {
    return this.measured('findById', () => this.inner.findById(id));
  }

  replace(next: Integration): Promise<void> {
    return this.measured('replace', () => this.inner.replace(next));
  }

  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    return this.measured('insertMissing', () => this.inner.insertMissing(integrations));
  }

  ping(): Promise<void> {
    return this.measured('ping', () => this.inner.ping());
  }

  private async measured<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    this.observer.operation(operation);
    try {
      return await call();
    } catch (error) {
      // NOT_FOUND and VERSION_CONFLICT are answers, not failures of the store.
      if (!(error instanceof DomainError)) this.observer.failure(operation, 'unexpected');
      else if (error.code === 'STORE_UNAVAILABLE') this.observer.failure(operation, 'unavailable');
      throw error;
    }
  }
}
