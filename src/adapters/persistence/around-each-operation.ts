// The shape every decorator of the repository port shares: each operation passes through `around`, which
// may time it, count it, bound it or refuse it, then calls the same operation of the store inside.
import type { Integration } from '../../domain/integration.entity';
import type {
  InsertMissingResult,
  IntegrationRepository,
  ReadOptions,
} from '../../application/integration-repository.port';

/** Every operation of the repository port, by the name its metrics carry. */
export const STORE_OPERATIONS = ['list', 'findById', 'replace', 'insertMissing', 'ping'] as const;
export type StoreOperation = (typeof STORE_OPERATIONS)[number];

export abstract class AroundEachOperation implements IntegrationRepository {
  constructor(protected readonly inner: IntegrationRepository) {}

  list(): Promise<Integration[]> {
    return this.around('list', () => this.inner.list());
  }

  findById(id: string, options?: ReadOptions): Promise<Integration | null> {
    return this.around('findById', () => this.inner.findById(id, options));
  }

  replace(next: Integration): Promise<void> {
    return this.around('replace', () => this.inner.replace(next));
  }

  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    return this.around('insertMissing', () => this.inner.insertMissing(integrations));
  }

  ping(): Promise<void> {
    return this.around('ping', () => this.inner.ping());
  }

  protected abstract around<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T>;
}
