// Bounds every store call in time, whatever adapter is behind: a store that stops answering yields
// StoreUnavailableError (a 503) after `timeoutMs`, never a request that hangs.
import { StoreUnavailableError } from '../../domain/errors';
import type { Integration } from '../../domain/integration.entity';
import type { InsertMissingResult, IntegrationRepository } from '../../application/integration-repository.port';

export class TimeBoundIntegrationRepository implements IntegrationRepository {
  constructor(
    private readonly inner: IntegrationRepository,
    private readonly timeoutMs: number,
  ) {}

  list(): Promise<Integration[]> {
    return this.bounded('list', () => this.inner.list());
  }

  findById(id: string): Promise<Integration | null> {
    return this.bounded('findById', () => this.inner.findById(id));
  }

  replace(next: Integration): Promise<void> {
    return this.bounded('replace', () => this.inner.replace(next));
  }

  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    return this.bounded('insertMissing', () => this.inner.insertMissing(integrations));
  }

  ping(): Promise<void> {
    return this.bounded('ping', () => this.inner.ping());
  }

  private bounded<T>(operation: string, call: () => Promise<T>): Promise<T> {
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
