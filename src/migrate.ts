// `npm run migrate`: applies pending schema migrations to MONGODB_URI and exits, for production, where
// MIGRATE_ON_START is off (a Kubernetes Job or an ECS one-off task runs it before a rollout). Another runner
// holding the lease is waited for, at least as long as its lease lasts; SIGTERM (a Job's deadline) stops it
// between steps and releases the lease, so the next Job does not wait for it.
import { setTimeout as sleep } from 'node:timers/promises';
import { MigrationLeaseHeld, DEFAULT_LEASE_MS } from './adapters/persistence/mongo/mongo-migrations';
import { permanentFault } from './adapters/persistence/mongo/mongo-errors';
import { migrateWithOwnClient } from './adapters/persistence/mongo/mongo-store';
import { type Config, ConfigError, loadConfig } from './infrastructure/config';
import { WinstonLogger } from './infrastructure/logger';
import { errorFields } from './application/logger.port';

async function migrate(): Promise<void> {
  let config: Config;
  try {
    // The migration serves no API, so the API's token requirement does not apply to it.
    config = loadConfig({ ...process.env, AUTH_DISABLED: 'true', HOST: '127.0.0.1' });
    if (!config.mongodbUri) throw new ConfigError(['MONGODB_URI: is required to migrate']);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`);
    process.exit(1);
  }
  // The service's own logger: same JSON lines, same redaction of the connection string.
  const logger = new WinstonLogger(config.logLevel);
  const stopping = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.warn('stopping: the lease is released after the step under way', { signal });
      stopping.abort(new Error(`stopped by ${signal}`));
    });
  }
  // Waits at least one whole lease for a runner that holds it (one that died keeps it that long).
  const waitUntil = Date.now() + 2 * DEFAULT_LEASE_MS;
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const applied = await migrateWithOwnClient(config.mongodbUri!, config.mongodbDb, {
          log: (msg, fields) => logger.info(msg, fields),
          signal: stopping.signal,
        });
        logger.info('migrations applied', { applied });
        break;
      } catch (error) {
        if (!(error instanceof MigrationLeaseHeld) || Date.now() >= waitUntil || stopping.signal.aborted) throw error;
        const pause = Math.min(Math.max(error.remainingMs, 1_000), 10_000);
        logger.warn('another runner is applying migrations; waiting', {
          attempt,
          holder: error.holder,
          leaseEndsInMs: error.remainingMs,
          retryInMs: pause,
        });
        await sleep(pause, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  } catch (error) {
    const reason = permanentFault(error);
    logger.error('migration failed', reason ? { reason } : errorFields(error, { stack: false }));
    process.exitCode = 1;
  }
}

void migrate();
