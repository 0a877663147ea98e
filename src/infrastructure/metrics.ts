// Prometheus metrics with prom-client, in a registry of this service's own (so tests may build many).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricsEndpoint } from '../adapters/http/app';
import type { RequestObservation } from '../adapters/http/request-context';
import type { CircuitStateName } from '../adapters/persistence/circuit-breaking-integration.repository';
import {
  STORE_FAILURES,
  STORE_OPERATIONS,
  type StoreFailure,
  type StoreObserver,
  type StoreOperation,
} from '../adapters/persistence/measured-integration.repository';
import type { PoolGauges } from '../adapters/persistence/mongo/mongo-pool';
import type { ChangeFeedGauges } from '../adapters/persistence/mongo/mongo-store';
import { SERVER_PORTS, type ConnectionObserver, type ServerPort } from './service';

export class Metrics implements MetricsEndpoint, StoreObserver, PoolGauges, ChangeFeedGauges, ConnectionObserver {
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
    help:
      'Operations sent to the integrations store, by operation (reads the cache answered and calls the open ' +
      'circuit refused are not sent)',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'store_operation_errors_total',
    help:
      'Operations sent to the store that failed, by operation and kind: unavailable (unreachable, timed out, no ' +
      'majority in time) or unexpected',
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
    help:
      'The store circuit breaker: 0 closed (calls go through), 1 open (calls fail at once), 2 half-open (one ' +
      'probe)',
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
    help:
      'Reads answered from a copy this replica served earlier, because the store did not answer ' +
      '(STALE_IF_ERROR_MS)',
    registers: [this.registry],
  });

  private readonly connectionsDropped = new Counter({
    name: 'http_connections_dropped_total',
    help:
      'Connections closed at once, unanswered, because the server already had as many open as it keeps, by port ' +
      '(api, probe)',
    labelNames: ['port'] as const,
    registers: [this.registry],
  });

  readonly contentType = this.registry.contentType;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.circuitState.set(0);
    // At 0 from the start, so a rate or an increase over them (an alert) sees the first drop or failure: a series
    // that appears at 1 has no earlier sample to count from.
    for (const port of SERVER_PORTS) this.connectionsDropped.inc({ port }, 0);
    for (const operation of STORE_OPERATIONS) {
      for (const kind of STORE_FAILURES) this.storeErrors.inc({ operation, kind }, 0);
    }
  }

  observeRequest = ({ method, route, status, durationSeconds }: RequestObservation): void => {
    this.httpDuration.observe({ method, route, status }, durationSeconds);
  };

  operation(operation: StoreOperation): void {
    this.storeOperations.inc({ operation });
  }

  failure(operation: StoreOperation, kind: StoreFailure): void {
    this.storeErrors.inc({ operation, kind });
  }

  circuit(to: CircuitStateName): void {
    this.circuitState.set({ closed: 0, open: 1, 'half-open': 2 }[to]);
    this.circuitTransitions.inc({ to });
  }

  connectionDropped(port: ServerPort): void {
    this.connectionsDropped.inc({ port });
  }

  staleRead = (): void => {
    this.staleReads.inc();
  };

  poolConnections(open: number, inUse: number): void {
    this.poolOpen.set(open);
    this.poolInUse.set(inUse);
  }

  // Registered by the first word from a change stream: a service on the embedded store has none to report.
  private changeStreamMetrics?: { live: Gauge; reopens: Counter };

  private changeStreamSeries(): { live: Gauge; reopens: Counter } {
    this.changeStreamMetrics ??= {
      live: new Gauge({
        name: 'mongodb_change_stream_live',
        help: 'The change stream that keeps the read cache true: 1 live, 0 down (copies then expire by CACHE_TTL_MS)',
        registers: [this.registry],
      }),
      reopens: new Counter({
        name: 'mongodb_change_stream_reopens_total',
        help: 'Times the change stream was opened again after it failed, ended or fell silent',
        registers: [this.registry],
      }),
    };
    return this.changeStreamMetrics;
  }

  changeStream(live: boolean): void {
    this.changeStreamSeries().live.set(live ? 1 : 0);
  }

  changeStreamReopened(): void {
    this.changeStreamSeries().reopens.inc();
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
