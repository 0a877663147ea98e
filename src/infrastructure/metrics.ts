// Prometheus metrics with prom-client, in a registry of this service's own (so tests may build many).
import type { MongoClient } from 'mongodb';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricsEndpoint } from '../adapters/http/app';
import type { RequestObservation } from '../adapters/http/request-context';
import type { CircuitStateName } from '../adapters/persistence/circuit-breaking-integration.repository';
import type { StoreObserver, StoreOperation } from '../adapters/persistence/measured-integration.repository';

export class Metrics implements MetricsEndpoint, StoreObserver {
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
    help: 'Operations sent to the integrations store, by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'store_operation_errors_total',
    help: 'Store operations that failed (unreachable, timed out, or unexpected), by operation and kind',
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

  // One child per label set, looked up by a cheap key instead of prom-client hashing the labels on every
  // request. Bounded: methods, route names and statuses are all closed sets.
  private readonly durationChildren = new Map<string, { observe(value: number): void }>();

  observeRequest = ({ method, route, status, durationSeconds }: RequestObservation): void => {
    const key = `${method} ${route} ${status}`;
    let child = this.durationChildren.get(key);
    if (!child) {
      child = this.httpDuration.labels(method, route, String(status));
      this.durationChildren.set(key, child);
    }
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

  /**
   * Follows the driver's connection-pool (CMAP) events, by connection: a connection closed while checked out
   * (a network error, a pool cleared under it) leaves both gauges, and a closed pool takes all of its own.
   */
  watchMongoPool(client: MongoClient): void {
    const open = new Set<string>();
    const inUse = new Set<string>();
    const key = (event: { address?: string; connectionId?: unknown }): string => `${event.address}#${String(event.connectionId)}`;
    const update = (): void => {
      this.poolOpen.set(open.size);
      this.poolInUse.set(inUse.size);
    };
    client.on('connectionCreated', (event) => {
      open.add(key(event));
      update();
    });
    client.on('connectionClosed', (event) => {
      open.delete(key(event));
      inUse.delete(key(event));
      update();
    });
    client.on('connectionCheckedOut', (event) => {
      inUse.add(key(event));
      update();
    });
    client.on('connectionCheckedIn', (event) => {
      inUse.delete(key(event));
      update();
    });
    client.on('connectionPoolClosed', (event) => {
      for (const set of [open, inUse]) for (const entry of [...set]) if (entry.startsWith(`${event.address}#`)) set.delete(entry);
      update();
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
