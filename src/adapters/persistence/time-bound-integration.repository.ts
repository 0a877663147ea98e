// Bounds every store call in time, whatever adapter is behind: a store that stops answering yields
// StoreUnavailableError (a 503) after `timeoutMs`, never a request that hangs.
import { StoreUnavailableError } from '../../domain/errors';
import type { IntegrationRepository } from '../../application/integration-repository.port';
import { AroundEachOperation, type StoreOperation } from './around-each-operation';

export class TimeBoundIntegrationRepository extends AroundEachOperation {
  constructor(
    inner: IntegrationRepository,
    private readonly timeoutMs: number,
  ) {
    super(inner);
  }

  protected around<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StoreUnavailableError(`the store did not answer ${operation} within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      call().then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
