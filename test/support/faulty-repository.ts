// A repository double that passes calls to a real store, or fails them as an unreachable store does, or stalls
// them as a store that stopped answering does, until told to recover. Its change feed is lost while it fails or
// stalls, as a MongoDB change stream is when the server is down, and live again once it recovers.
import { StoreUnavailableError } from '../../src/domain/errors';
import { AroundEachOperation, type StoreOperation } from '../../src/adapters/persistence/around-each-operation';
import { ChangeListeners, type ChangeFeed, type ChangeListener } from '../../src/adapters/persistence/change-feed';
import type { IntegrationRepository } from '../../src/application/integration-repository.port';
import type { ContainerOverrides } from '../../src/infrastructure/container';

export type Behaviour = 'answer' | 'fail' | 'stall';

export class FaultyRepository extends AroundEachOperation implements ChangeFeed {
  private current: Behaviour = 'answer';
  private stalled: (() => void)[] = [];
  private readonly feed = new ChangeListeners('live');
  /** Calls that reached the store (a failing or stalling one included). */
  calls = 0;

  constructor(inner: IntegrationRepository, innerFeed: ChangeFeed) {
    super(inner);
    innerFeed.subscribe({ changed: (id) => this.feed.changed(id), live: () => undefined, lost: () => undefined });
  }

  get behaviour(): Behaviour {
    return this.current;
  }

  set behaviour(behaviour: Behaviour) {
    this.current = behaviour;
    if (behaviour === 'answer') this.feed.live();
    else this.feed.lost();
  }

  subscribe(listener: ChangeListener): () => void {
    return this.feed.subscribe(listener);
  }

  /** Back to answering; calls stalled until now are released (they answer late, as after a long GC or failover). */
  recover(): void {
    this.behaviour = 'answer';
    for (const release of this.stalled.splice(0)) release();
  }

  protected async around<T>(operation: StoreOperation, work: () => Promise<T>): Promise<T> {
    this.calls += 1;
    if (this.current === 'fail') throw new StoreUnavailableError(`the double refuses ${operation}`);
    if (this.current === 'stall') await new Promise<void>((resolve) => this.stalled.push(resolve));
    return work();
  }
}

/** The `underLayers` override that puts a FaultyRepository under a service's layers, handed to `keep` once made. */
export function faultyUnderLayers(
  keep: (store: FaultyRepository) => void,
): NonNullable<ContainerOverrides['underLayers']> {
  return (below) => {
    const store = new FaultyRepository(below.repository, below.feed);
    keep(store);
    return { repository: store, feed: store };
  };
}
