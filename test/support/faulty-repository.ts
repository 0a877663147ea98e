// A repository double that passes calls to a real store, or fails them as an unreachable store does,
// or stalls them as a store that stopped answering does, until told to recover.
import { StoreUnavailableError } from '../../src/domain/errors';
import { AroundEachOperation, type StoreOperation } from '../../src/adapters/persistence/around-each-operation';

export type Behaviour = 'answer' | 'fail' | 'stall';

export class FaultyRepository extends AroundEachOperation {
  behaviour: Behaviour = 'answer';
  private stalled: (() => void)[] = [];

  /** Back to answering; calls stalled until now are released (they answer late, as after a long GC or failover). */
  recover(): void {
    this.behaviour = 'answer';
    for (const release of this.stalled.splice(0)) release();
  }

  protected async around<T>(operation: StoreOperation, work: () => Promise<T>): Promise<T> {
    if (this.behaviour === 'fail') throw new StoreUnavailableError(`the double refuses ${operation}`);
    if (this.behaviour === 'stall') await new Promise<void>((resolve) => this.stalled.push(resolve));
    return work();
  }
}
