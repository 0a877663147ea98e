// Prometheus metrics with prom-client, in a registry of this service's own (so tests may build many).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricsEndpoint } from '../adapters/http/app';
import type { RequestObservation } from '../adapters/http/request-context';
import type { CircuitStateName } from '../adapters/persistence/circuit-breaking-integration.repository';
import type { StoreObserver, StoreOperation } from '../adapters/persistence/measured-integration.repository';
import type { PoolGauges } from '../adapters/persistence/mongo/mongo-pool';

export class Metrics implements MetricsEndpoint, StoreObserver, PoolGauges {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly storeOperations = new Counter({
    name: 'store_operations_total',
    help: 'Operations sent to the integrations store, by operation (reads the cache answered and calls the open circuit refused are not sent)',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'store_operation_errors_total',
    help: 'Operations sent to the store that failed, by operation and kind: unavailable (unreachable, timed out, no majority in time) or unexpected',
    labelNames: ['operation', 'kind'] as const,
    registers: [this.registry],
  });

  private readonly poolInUse = new Gauge({
    name: 'mongodb_pool_connections_in_use',
    help: 'MongoDB driver pool connections checked out right now',
    registers: [this.registry],
  });

  private readonly poolOpen = new Gauge({
    name: 'mongodb_pool_connections_open',
    help: 'MongoDB driver pool connections open right now',
    registers: [this.registry],
  });

  private readonly circuitState = new Gauge({
    name: 'store_circuit_state',
    help: 'The store circuit breaker: 0 closed (calls go through), 1 open (calls fail at once), 2 half-open (one probe)',
    registers: [this.registry],
  });

  private readonly circuitTransitions = new Counter({
    name: 'store_circuit_transitions_total',
    help: 'Transitions of the store circuit breaker, by the state entered',
    labelNames: ['to'] as const,
    registers: [this.registry],
  });

  private readonly staleReads = new Counter({
    name: 'integrations_stale_reads_total',
    help: 'Reads answered from a copy this replica served earlier, because the store did not answer (STALE_IF_ERROR_MS)',
    registers: [this.registry],
  });

  readonly contentType = this.registry.contentType;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.circuitState.set(0);
  }

  // One child per label set, found by route, method and status in turn instead of prom-client hashing the labels
  // (or a key string made and hashed) on every request. Bounded: route names, methods and statuses are closed sets.
  private readonly durationChildren = new Map<string, Map<string, Map<number, { observe(value: number): void }>>>();

  observeRequest = ({ method, route, status, durationSeconds }: RequestObservation): void => {
    let byMethod = this.durationChildren.get(route);
    if (byMethod === undefined) this.durationChildren.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let child = byStatus.get(status);
    if (child === undefined) byStatus.set(status, (child = this.httpDuration.labels(method, route, String(status))));
    child.observe(durationSeconds);
  };

  operation(operation: StoreOperation): void {
    this.storeOperations.inc({ operation });
  }

  failure(operation: StoreOperation, kind: 'unavailable' | 'unexpected'): void {
    this.storeErrors.inc({ operation, kind });
  }

  circuit(to: CircuitStateName): void {
    this.circuitState.set({ closed: 0, open: 1, 'half-open': 2 }[to]);
    this.circuitTransitions.inc({ to });
  }

  staleRead = (): void => {
    this.staleReads.inc();
  };

  poolConnections(open: number, inUse: number): void {
    this.poolOpen.set(open);
    this.poolInUse.set(inUse);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
