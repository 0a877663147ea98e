// The composition root: wires use cases, the HTTP adapter and the repository's decorators together.
// The store adapter itself (MongoDB or in-memory) is picked from config and built in store.ts.
import type { Writable } from 'node:stream';
import { Container } from 'inversify';
import { CLOCK, systemClock, type Clock } from '../application/clock.port';
import { EnsureDefaultIntegrations } from '../application/ensure-default-integrations.use-case';
import { GetIntegration } from '../application/get-integration.use-case';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from '../application/integration-repository.port';
import { ListIntegrations } from '../application/list-integrations.use-case';
import { LOGGER, type Logger } from '../application/logger.port';
import { EditIntegration } from '../application/edit-integration.use-case';
import { STALE_COPIES, StaleCopies } from '../application/stale-copies';
import { CircuitBreakingIntegrationRepository } from '../adapters/persistence/circuit-breaking-integration.repository';
import { createHttpApp, type HttpApp } from '../adapters/http/app';
import { CachedIntegrationRepository } from '../adapters/persistence/cached-integration.repository';
import { CredentialCipher } from '../adapters/persistence/credential-cipher';
import { EncryptingIntegrationRepository } from '../adapters/persistence/encrypting-integration.repository';
import { MeasuredIntegrationRepository } from '../adapters/persistence/measured-integration.repository';
import { TimeBoundIntegrationRepository } from '../adapters/persistence/time-bound-integration.repository';
import type { StoredIntegration } from '../domain/integration.entity';
import type { Config } from './config';
import { WinstonLogger } from './logger';
import { Metrics } from './metrics';
import { Readiness } from './readiness';
import { createStore, type Store } from './store';
import { CONFIG, HTTP_APP, METRICS, READINESS, STORE } from './tokens';
import { SERVICE_VERSION } from './version';

/** The largest body accepted: a whole record with 16 KiB of settings fits with room to spare. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export interface ContainerOverrides {
  /** Where log lines go instead of stdout. */
  logStream?: Writable;
  clock?: Clock;
  /** Records the embedded in-memory store starts with, as if another writer had left them. */
  memorySeed?: readonly StoredIntegration[];
  /** Wraps the store's repository before anything else does: tests put a double there that fails or stalls. */
  decorateStore?: (repository: IntegrationRepository) => IntegrationRepository;
}

export function buildContainer(config: Config, overrides: ContainerOverrides = {}): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  const logger = new WinstonLogger(config.logLevel, overrides.logStream);
  const metrics = new Metrics();
  const cipher = new CredentialCipher(config.encryptionKey, config.encryptionKeysPrevious);
  const store = createStore(config, logger, metrics, cipher, overrides.memorySeed);

  container.bind<Config>(CONFIG).toConstantValue(config);
  container.bind<Logger>(LOGGER).toConstantValue(logger);
  container.bind<Metrics>(METRICS).toConstantValue(metrics);
  container.bind<Clock>(CLOCK).toConstantValue(overrides.clock ?? systemClock);
  container.bind<Store>(STORE).toConstantValue(store);
  container.bind<IntegrationRepository>(INTEGRATION_REPOSITORY).toConstantValue(repositoryStack(config, overrides.decorateStore?.(store.repository) ?? store.repository, store.kind, overrides.decorateStore !== undefined, metrics, cipher, logger));
  container.bind<StaleCopies>(STALE_COPIES).toConstantValue(new StaleCopies(config.staleIfErrorMs));

  container.bind(ListIntegrations).toSelf();
  container.bind(GetIntegration).toSelf();
  container.bind(EditIntegration).toSelf();
  container.bind(EnsureDefaultIntegrations).toSelf();

  container.bind<Readiness>(READINESS).toDynamicValue((ctx) => new Readiness(ctx.get(INTEGRATION_REPOSITORY)));
  container.bind<HttpApp>(HTTP_APP).toDynamicValue((ctx) => {
    const readiness = ctx.get<Readiness>(READINESS);
    return createHttpApp({
      useCases: {
        list: ctx.get(ListIntegrations),
        get: ctx.get(GetIntegration),
        edit: ctx.get(EditIntegration),
        ensureDefaults: ctx.get(EnsureDefaultIntegrations),
      },
      logger,
      readiness: () => readiness.report(),
      draining: () => readiness.isDraining(),
      metrics: config.metricsEnabled ? metrics : undefined,
      observe: metrics.observeRequest,
      onStaleRead: metrics.staleRead,
      corsOrigins: config.corsOrigins,
      tokens: { admin: config.adminTokens, read: config.readTokens },
      bodyLimitBytes: BODY_LIMIT_BYTES,
      version: SERVICE_VERSION,
    });
  });

  if (config.adminTokens.length + config.readTokens.length === 0) {
    logger.warn('ADMIN_TOKENS and READ_TOKENS are not set: the API is open to anyone who can reach it');
  }
  return container;
}

/**
 * From the store outwards: credentials sealed at rest (when a key is set), every store call counted
 * and bounded in time, and for a shared store a short read cache for the bot runtime's hot path.
 */
/** Consecutive "store unavailable" failures that open the circuit, and how long it stays open before a probe. */
export const CIRCUIT_FAILURE_THRESHOLD = 5;
export const CIRCUIT_HALF_OPEN_AFTER_MS = 2_000;

function repositoryStack(
  config: Config,
  stored: IntegrationRepository,
  kind: Store['kind'],
  canFail: boolean,
  metrics: Metrics,
  cipher: CredentialCipher,
  logger: Logger,
): IntegrationRepository {
  // Always present: without ENCRYPTION_KEY it seals nothing, and refuses to hand out a sealed value as a token.
  let repository: IntegrationRepository = new EncryptingIntegrationRepository(stored, cipher);
  // A store that can stall or fail (MongoDB, or a double a test puts there) is bounded in time and behind a
  // circuit breaker; the in-memory store answers synchronously and can do neither, so its reads skip both.
  if (kind === 'mongodb' || canFail) {
    repository = new TimeBoundIntegrationRepository(repository, config.storeTimeoutMs);
    repository = new CircuitBreakingIntegrationRepository(repository, {
      failureThreshold: CIRCUIT_FAILURE_THRESHOLD,
      halfOpenAfterMs: CIRCUIT_HALF_OPEN_AFTER_MS,
      onTransition: (to) => {
        metrics.circuit(to);
        logger[to === 'closed' ? 'info' : 'warn'](`store circuit ${to}`, {
          circuit: to,
          meaning: { open: 'the store is down: calls fail at once', 'half-open': 'probing the store', closed: 'the store answers again' }[to],
        });
      },
    });
  }
  repository = new MeasuredIntegrationRepository(repository, metrics);
  if (kind === 'mongodb' && config.cacheTtlMs > 0) repository = new CachedIntegrationRepository(repository, { ttlMs: config.cacheTtlMs });
  return repository;
}
