// Wraps the store: counts every operation and its failures, and bounds each by STORE_TIMEOUT_MS,
// whatever adapter is behind, so a store that stops answering yields a 503, never a hung request.
import { DomainError, StoreUnavailableError } from '../domain/errors';
import type { Integration, IntegrationChanges } from '../domain/integration.entity';
import type { InsertMissingResult, IntegrationRepository, UpdateOptions } from '../application/integration-repository.port';
import type { Metrics } from './metrics';

export class InstrumentedIntegrationRepository implements IntegrationRepository {
  constructor(
    private readonly inner: IntegrationRepository,
    private readonly metrics: Metrics,
    private readonly timeoutMs: number,
  ) {}

  list(): Promise<Integration[]> {
    return this.run('list', () => this.inner.list());
  }

  findById(id: string): Promise<Integration | null> {
    return this.run('findById', () => this.inner.findById(id));
  }

  update(id: string, changes: IntegrationChanges, options: UpdateOptions): Promise<Integration> {
    return this.run('update', () => this.inner.update(id, changes, options));
  }

  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    return this.run('insertMissing', () => this.inner.insertMissing(integrations));
  }

  ping(): Promise<void> {
    return this.run('ping', () => this.inner.ping());
  }

  private async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    this.metrics.storeOperations.inc({ operation });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`the store did not answer ${operation} within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([call(), deadline]);
    } catch (error) {
      // NOT_FOUND and VERSION_CONFLICT are answers, not failures of the store.
      if (!(error instanceof DomainError)) this.metrics.storeErrors.inc({ operation, kind: 'unexpected' });
      else if (error.code === 'STORE_UNAVAILABLE') this.metrics.storeErrors.inc({ operation, kind: 'unavailable' });
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
