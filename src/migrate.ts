// `npm run migrate`: applies pending schema migrations to MONGODB_URI and exits, for production, where
// MIGRATE_ON_START is off (a Kubernetes Job or an ECS one-off task runs it before a rollout).
import { MongoClient } from 'mongodb';
import { MigrationLeaseHeld, applyPendingMigrations } from './adapters/persistence/mongo-migrations';
import { permanentFault } from './adapters/persistence/mongo-errors';
import { ConfigError, loadConfig } from './infrastructure/config';
import { WinstonLogger } from './infrastructure/logger';
import { errorFields } from './application/logger.port';

async function migrate(): Promise<void> {
  let config;
  try {
    // The migration serves no API, so the API's token requirement does not apply to it.
    config = loadConfig({ ...process.env, AUTH_DISABLED: 'true' });
    if (!config.mongodbUri) throw new ConfigError(['MONGODB_URI: is required to migrate']);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`);
    process.exit(1);
  }
  // The service's own logger: same JSON lines, same redaction of the connection string.
  const logger = new WinstonLogger(config.logLevel);
  const bound = Math.max(config.storeTimeoutMs, 10_000);
  const client = new MongoClient(config.mongodbUri, { serverSelectionTimeoutMS: bound, socketTimeoutMS: 5 * 60_000 });
  try {
    await client.connect();
    // Another runner holding the lease (a replica starting with MIGRATE_ON_START) is waited for, boundedly.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const applied = await applyPendingMigrations(client.db(config.mongodbDb), { maxTimeMS: bound, log: (msg, fields) => logger.info(msg, fields) });
        logger.info('migrations applied', { applied });
        break;
      } catch (error) {
        if (!(error instanceof MigrationLeaseHeld) || attempt >= 30) throw error;
        logger.warn('another runner is applying migrations; waiting', { attempt });
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    }
  } catch (error) {
    const reason = permanentFault(error);
    logger.error('migration failed', reason ? { reason } : errorFields(error, { stack: false }));
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}

void migrate();
