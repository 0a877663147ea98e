// Fail fast while the store is known to be down: after `failureThreshold` consecutive "store unavailable"
// failures the circuit opens and every call fails at once with StoreUnavailableError, instead of each
// request waiting the full store timeout; after `halfOpenAfterMs` one call probes the store, and its
// success closes the circuit again. cockatiel's ConsecutiveBreaker is exactly that state machine.
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { StoreUnavailableError, UnreadableRecordError } from '../../domain/errors';
import type { IntegrationRepository } from '../../application/integration-repository.port';
import { AroundEachOperation, type StoreOperation } from './around-each-operation';

export type CircuitStateName = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  failureThreshold: number;
  halfOpenAfterMs: number;
  /** Told of every transition (metrics, a log line). */
  onTransition?: (to: CircuitStateName) => void;
}

const NAMES: Partial<Record<CircuitState, CircuitStateName>> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
};

export class CircuitBreakingIntegrationRepository extends AroundEachOperation {
  private readonly policy: CircuitBreakerPolicy;

  constructor(
    inner: IntegrationRepository,
    private readonly options: CircuitOptions,
  ) {
    super(inner);
    // Only the store being unavailable counts: a not-found or a version conflict is an answer, and a record this
    // replica cannot open says nothing of the store (five reads of it must not take every other record down).
    this.policy = circuitBreaker(
      handleWhen((error) => error instanceof StoreUnavailableError && !(error instanceof UnreadableRecordError)),
      { halfOpenAfter: options.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.failureThreshold) },
    );
    this.policy.onStateChange((state) => {
      const name = NAMES[state];
      if (name) options.onTransition?.(name);
    });
  }

  get state(): CircuitStateName {
    return NAMES[this.policy.state] ?? 'open';
  }

  protected async around<T>(_operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(call);
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw new StoreUnavailableError(
          `the store is known to be down (circuit ${this.state}); not asking it again for up to ` +
            `${this.options.halfOpenAfterMs} ms`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}
