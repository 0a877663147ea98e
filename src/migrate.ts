// `npm run migrate`: applies pending schema migrations to MONGODB_URI and exits, for production, where
// MIGRATE_ON_START is off (a Kubernetes Job or an ECS one-off task runs it before a rollout).
import { MongoClient } from 'mongodb';
import { applyPendingMigrations } from './adapters/persistence/mongo-migrations';
import { ConfigError, loadConfig } from './infrastructure/config';
import { redactString } from './infrastructure/redact';

async function migrate(): Promise<void> {
  // The migration serves no API, so the API's token requirement does not apply to it.
  const config = loadConfig({ ...process.env, AUTH_DISABLED: 'true' });
  if (!config.mongodbUri) throw new ConfigError(['MONGODB_URI: is required to migrate']);
  const client = new MongoClient(config.mongodbUri, { serverSelectionTimeoutMS: Math.max(config.storeTimeoutMs, 10_000) });
  try {
    await client.connect();
    const applied = await applyPendingMigrations(client.db(config.mongodbDb));
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'migrations applied', applied })}\n`);
  } finally {
    await client.close();
  }
}

migrate().catch((error: unknown) => {
  const lines = error instanceof ConfigError ? error.problems.map((p) => `config error: ${p}`) : [`migration failed: ${redactString((error as Error).message)}`];
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
});
