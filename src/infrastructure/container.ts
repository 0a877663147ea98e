// The composition root: Inversify assembles the service here, and only the entry points (main, tests) take
// anything out of it. The store adapter is picked from configuration; every repository decorator is one entry
// of REPOSITORY_LAYERS, the same list whatever the store and in tests as in production.
import type { Writable } from 'node:stream';
import { Container, type ResolutionContext } from 'inversify';
import { CLOCK, systemClock, type Clock } from '../application/clock.port';
import { EDIT_PATIENCE_MS, EditIntegration } from '../application/edit-integration.use-case';
import { EnsureDefaultIntegrations } from '../application/ensure-default-integrations.use-case';
import { GetIntegration } from '../application/get-integration.use-case';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from '../application/integration-repository.port';
import { ListIntegrations } from '../application/list-integrations.use-case';
import { LOGGER, type Logger } from '../application/logger.port';
import { createHttpApp, type HttpApp } from '../adapters/http/app';
import { CachedIntegrationRepository } from '../adapters/persistence/cached-integration.repository';
import type { ChangeFeed } from '../adapters/persistence/change-feed';
import { CircuitBreakingIntegrationRepository } from '../adapters/persistence/circuit-breaking-integration.repository';
import { CredentialCipher } from '../adapters/persistence/credential-cipher';
import type { InMemoryRecords } from '../adapters/persistence/in-memory-integration.repository';
import { createInMemoryStore } from '../adapters/persistence/in-memory-store';
import { MeasuredIntegrationRepository } from '../adapters/persistence/measured-integration.repository';
import { RecordCodec } from '../adapters/persistence/record-codec';
import type { Store } from '../adapters/persistence/store';
import { TimeBoundIntegrationRepository } from '../adapters/persistence/time-bound-integration.repository';
import type { StoredIntegration } from '../domain/integration.entity';
import { type Config, hasTokens } from './config';
import { WinstonLogger } from './logger';
import { Metrics } from './metrics';
import { READINESS_OPTIONS, Readiness, UnreadableRecords, type ReadinessOptions } from './readiness';
import { SERVER_LIMITS, Service, type ServerLimits } from './service';
import { CONFIG, HTTP_APP, METRICS, STORE } from './tokens';
import { SERVICE_VERSION } from './version';

/** The largest body accepted: a whole record with 16 KiB of settings fits with room to spare. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Consecutive "store unavailable" failures that open the circuit, and how long it stays open before a probe. */
export const CIRCUIT_FAILURE_THRESHOLD = 5;
export const CIRCUIT_HALF_OPEN_AFTER_MS = 2_000;

export interface ContainerOverrides {
  /** Where log lines go instead of stdout. */
  logStream?: Writable;
  clock?: Clock;
  /** Records the embedded in-memory store starts with, as if another writer had left them, or records another service's
   * store holds too (two replicas over one store). */
  memorySeed?: readonly StoredIntegration[] | InMemoryRecords;
  /** Replaces the store's repository and feed below every layer: tests put a double there that fails or stalls. */
  underLayers?: (below: Pick<Store, 'repository' | 'feed'>) => { repository: IntegrationRepository; feed: ChangeFeed };
  limits?: Partial<ServerLimits>;
  readiness?: ReadinessOptions;
  /** How long the circuit stays open before a probe (tests that watch it close). */
  circuitHalfOpenAfterMs?: number;
}

interface Parts {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  /** What tells the cache of changes to the store. */
  feed: ChangeFeed;
  overrides: ContainerOverrides;
}

/** The repository's decorators, from the store outwards. */
export const REPOSITORY_LAYERS: readonly ((parts: Parts) => (inner: IntegrationRepository) => IntegrationRepository)[] =
  [
    // Every store call bounded in time: a store that stops answering is a 503, never a hang.
    ({ config }) =>
      (inner) =>
        new TimeBoundIntegrationRepository(inner, config.storeTimeoutMs),
    // Counted as sent to the store (so below the circuit, which refuses calls without sending them).
    ({ metrics }) =>
      (inner) =>
        new MeasuredIntegrationRepository(inner, metrics),
    // Fail fast while the store is known to be down.
    ({ metrics, logger, overrides }) =>
      (inner) =>
        new CircuitBreakingIntegrationRepository(inner, {
          failureThreshold: CIRCUIT_FAILURE_THRESHOLD,
          halfOpenAfterMs: overrides.circuitHalfOpenAfterMs ?? CIRCUIT_HALF_OPEN_AFTER_MS,
          onTransition: (to) => {
            metrics.circuit(to);
            logger[to === 'closed' ? 'info' : 'warn'](`store circuit ${to}`, {
              circuit: to,
              meaning: {
                open: 'the store is down: calls fail at once',
                'half-open': 'probing the store',
                closed: 'the store answers again',
              }[to],
            });
          },
        }),
    // The one read cache, kept true by the store's change feed, and its stale copies for stale-if-error.
    ({ config, feed }) =>
      (inner) =>
        new CachedIntegrationRepository(inner, {
          ttlMs: config.cacheTtlMs,
          staleIfErrorMs: config.staleIfErrorMs,
          feed,
        }),
  ];

function createStore(
  config: Config,
  codec: RecordCodec,
  logger: Logger,
  metrics: Metrics,
  seed?: readonly StoredIntegration[] | InMemoryRecords,
): Store {
  if (!config.mongodbUri) {
    logger.warn('MONGODB_URI is not set: using the embedded in-memory store; nothing is kept when the process stops');
    return createInMemoryStore(codec, seed);
  }
  // The MongoDB adapter (and its driver) is loaded only when MongoDB is configured.
  const { createMongoStore } =
    require('../adapters/persistence/mongo/mongo-store') as typeof import('../adapters/persistence/mongo/mongo-store');
  return createMongoStore({
    uri: config.mongodbUri,
    dbName: config.mongodbDb,
    maxPoolSize: config.mongoMaxPoolSize,
    storeTimeoutMs: config.storeTimeoutMs,
    migrateOnStart: config.migrateOnStart,
    codec,
    logger,
    pool: metrics,
    feedGauges: metrics,
  });
}

function httpApp(ctx: ResolutionContext, config: Config): HttpApp {
  const readiness = ctx.get(Readiness);
  const metrics = ctx.get<Metrics>(METRICS);
  return createHttpApp({
    useCases: {
      list: ctx.get(ListIntegrations),
      get: ctx.get(GetIntegration),
      edit: ctx.get(EditIntegration),
      ensureDefaults: ctx.get(EnsureDefaultIntegrations),
    },
    logger: ctx.get<Logger>(LOGGER),
    readiness: () => readiness.report(),
    draining: () => readiness.isDraining(),
    metrics: config.metricsEnabled ? metrics : undefined,
    observe: metrics.observeRequest,
    onStaleRead: metrics.staleRead,
    unreadable: () => ctx.get(UnreadableRecords).ids(),
    corsOrigins: config.corsOrigins,
    tokens: { admin: config.adminTokens, read: config.readTokens, gateway: config.gatewayTokens },
    allowedHosts: config.allowedHosts,
    bodyLimitBytes: BODY_LIMIT_BYTES,
    version: SERVICE_VERSION,
  });
}

export function buildContainer(config: Config, overrides: ContainerOverrides = {}): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  const logger = new WinstonLogger(config.logLevel, overrides.logStream);
  const metrics = new Metrics();
  container.bind<Config>(CONFIG).toConstantValue(config);
  container.bind<Logger>(LOGGER).toConstantValue(logger);
  container.bind<Metrics>(METRICS).toConstantValue(metrics);
  container.bind<Clock>(CLOCK).toConstantValue(overrides.clock ?? systemClock);
  container.bind<Partial<ServerLimits>>(SERVER_LIMITS).toConstantValue(overrides.limits ?? {});
  container.bind<ReadinessOptions>(READINESS_OPTIONS).toConstantValue(overrides.readiness ?? {});

  container.bind(UnreadableRecords).toSelf();
  container.bind(RecordCodec).toDynamicValue((ctx) => {
    const keys = [...config.encryptionKeysPrevious, ...(config.encryptionKeyNext ? [config.encryptionKeyNext] : [])];
    return new RecordCodec(new CredentialCipher(config.encryptionKey, keys), ctx.get(UnreadableRecords));
  });
  container
    .bind<Store>(STORE)
    .toDynamicValue((ctx) => createStore(config, ctx.get(RecordCodec), logger, metrics, overrides.memorySeed));
  container.bind<IntegrationRepository>(INTEGRATION_REPOSITORY).toDynamicValue((ctx) => {
    const store = ctx.get<Store>(STORE);
    const below = overrides.underLayers?.(store) ?? store;
    const parts: Parts = { config, metrics, logger, feed: below.feed, overrides };
    return REPOSITORY_LAYERS.reduce((inner, layer) => layer(parts)(inner), below.repository);
  });

  container.bind(ListIntegrations).toSelf();
  container.bind(GetIntegration).toSelf();
  container.bind<number>(EDIT_PATIENCE_MS).toConstantValue(config.storeTimeoutMs);
  container.bind(EditIntegration).toSelf();
  container.bind(EnsureDefaultIntegrations).toSelf();
  container.bind(Readiness).toSelf();
  container.bind<HttpApp>(HTTP_APP).toDynamicValue((ctx) => httpApp(ctx, config));
  container.bind(Service).toSelf();

  if (!hasTokens(config)) {
    logger.warn('ADMIN_TOKENS, READ_TOKENS and GATEWAY_TOKENS are not set: the API is open to anyone who can reach it');
  }
  return container;
}
