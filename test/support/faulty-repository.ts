// A repository double that passes calls to a real store, or fails them as an unreachable store does,
// or stalls them as a store that stopped answering does, until told to recover.
import { StoreUnavailableError } from '../../src/domain/errors';
import type { Integration } from '../../src/domain/integration.entity';
import type { InsertMissingResult, IntegrationRepository } from '../../src/application/integration-repository.port';

export type Behaviour = 'answer' | 'fail' | 'stall';

export class FaultyRepository implements IntegrationRepository {
  behaviour: Behaviour = 'answer';
  readonly calls: Record<string, number> = {};
  private stalled: (() => void)[] = [];

  constructor(private readonly inner: IntegrationRepository) {}

  /** Back to answering; calls stalled until now are released (they answer late, as after a long GC or failover). */
  recover(): void {
    this.behaviour = 'answer';
    for (const release of this.stalled.splice(0)) release();
  }

  list(): Promise<Integration[]> {
    return this.call('list', () => this.inner.list());
  }

  findById(id: string): Promise<Integration | null> {
    return this.call('findById', () => this.inner.findById(id));
  }

  replace(next: Integration): Promise<void> {
    return this.call('replace', () => this.inner.replace(next));
  }

  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    return this.call('insertMissing', () => this.inner.insertMissing(integrations));
  }

  ping(): Promise<void> {
    return this.call('ping', () => this.inner.ping());
  }

  private async call<T>(operation: string, work: () => Promise<T>): Promise<T> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    if (this.behaviour === 'fail') throw new StoreUnavailableError(`the double refuses ${operation}`);
    if (this.behaviour === 'stall') await new Promise<void>((resolve) => this.stalled.push(resolve));
    return work();
  }
}
