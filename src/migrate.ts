// `npm run migrate`: applies pending schema migrations to MONGODB_URI and exits, for production, where
// MIGRATE_ON_START is off (a Kubernetes Job or an ECS one-off task runs it before a rollout).
import { MongoClient } from 'mongodb';
import { applyPendingMigrations } from './adapters/persistence/mongo-migrations';
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
  const client = new MongoClient(config.mongodbUri, { serverSelectionTimeoutMS: Math.max(config.storeTimeoutMs, 10_000) });
  try {
    await client.connect();
    logger.info('migrations applied', { applied: await applyPendingMigrations(client.db(config.mongodbDb)) });
  } catch (error) {
    logger.error('migration failed', errorFields(error, { stack: false }));
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}

void migrate();
