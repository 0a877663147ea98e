// Reports every store operation and every failure of the store to an observer (the service's metrics).
import { DomainError } from '../../domain/errors';
import type { IntegrationRepository } from '../../application/integration-repository.port';
import { AroundEachOperation, type StoreOperation } from './around-each-operation';

export { STORE_OPERATIONS, type StoreOperation } from './around-each-operation';

/** `unavailable`: the store did not answer; `unexpected`: any other failure (a bug, a refused command). */
export const STORE_FAILURES = ['unavailable', 'unexpected'] as const;
export type StoreFailure = (typeof STORE_FAILURES)[number];

export interface StoreObserver {
  operation(operation: StoreOperation): void;
  failure(operation: StoreOperation, kind: StoreFailure): void;
}

export class MeasuredIntegrationRepository extends AroundEachOperation {
  constructor(
    inner: IntegrationRepository,
    private readonly observer: StoreObserver,
  ) {
    super(inner);
  }

  protected async around<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
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
