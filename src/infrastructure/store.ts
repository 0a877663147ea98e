// The store the container plugs behind the repository port: MongoDB when MONGODB_URI is set, else in-memory.
import { MongoClient } from 'mongodb';
import type { IntegrationRepository } from '../application/integration-repository.port';
import type { StoredIntegration } from '../domain/integration.entity';
import type { Logger } from '../application/logger.port';
import { InMemoryIntegrationRepository } from '../adapters/persistence/in-memory-integration.repository';
import { MongoIntegrationRepository } from '../adapters/persistence/mongo-integration.repository';
import { MigrationLeaseHeld, applyPendingMigrations, pendingMigrations, uniqueIdIndex } from '../adapters/persistence/mongo-migrations';
import { permanentFault, translateDriverErrors } from '../adapters/persistence/mongo-errors';
import type { CredentialCipher } from '../adapters/persistence/credential-cipher';
import { unreadableCredentials, type CredentialStore } from '../adapters/persistence/credential-resealer';
import type { Config } from './config';
import type { Metrics } from './metrics';
import { StartupRefusal } from './startup-refusal';

export interface Store {
  kind: 'memory' | 'mongodb';
  repository: IntegrationRepository & CredentialStore;
  /**
   * Connects, ensures indexes, applies pending migrations and checks every stored credential can be opened;
   * throws while the store is unreachable, and StartupRefusal on a fault no retry mends.
   */
  prepare(): Promise<void>;
  close(): Promise<void>;
}

/** `memorySeed`: records the embedded store starts with, as if another writer had left them (tests). */
export function createStore(config: Config, logger: Logger, metrics: Metrics, cipher: CredentialCipher, memorySeed: readonly StoredIntegration[] = []): Store {
  const assertCredentialsReadable = async (store: CredentialStore): Promise<void> => {
    const problem = unreadableCredentials(await store.storedRecords(), cipher);
    if (problem) throw new StartupRefusal(problem);
  };
  if (!config.mongodbUri) {
    logger.warn('MONGODB_URI is not set: using the embedded in-memory store; nothing is kept when the process stops');
    const repository = new InMemoryIntegrationRepository(memorySeed);
    return { kind: 'memory', repository, prepare: () => assertCredentialsReadable(repository), close: async () => {} };
  }

  // Constructing the client connects nothing: the container stays synchronous and /readyz can answer
  // 503 while prepare() retries against a store that is not up yet.
  const client = new MongoClient(config.mongodbUri, {
    appName: 'integrations-service',
    maxPoolSize: config.mongoMaxPoolSize,
    // Each phase of an operation is bounded on its own, the server aborts an operation past maxTimeMS, and
    // TimeBoundIntegrationRepository bounds the whole.
    serverSelectionTimeoutMS: config.storeTimeoutMs,
    connectTimeoutMS: config.storeTimeoutMs,
    waitQueueTimeoutMS: config.storeTimeoutMs,
    socketTimeoutMS: config.storeTimeoutMs + 1_000,
    // Reads go to the primary, and to a secondary while there is none (an election): the bot runtime keeps
    // its answer, at most replication lag old. Writes always need the primary.
    readPreference: 'primaryPreferred',
  });
  metrics.watchMongoPool(client);
  const db = client.db(config.mongodbDb);
  const repository = new MongoIntegrationRepository(db, { maxTimeMS: config.storeTimeoutMs });

  return {
    kind: 'mongodb',
    repository,
    async prepare() {
      try {
        await translateDriverErrors('connect', () => client.connect());
        if (config.migrateOnStart) {
          const applied = await applyPendingMigrations(db, { maxTimeMS: config.storeTimeoutMs, log: (msg, fields) => logger.info(msg, fields) });
          if (applied.length > 0) logger.info('migrations applied', { applied });
        } else {
          const pending = await pendingMigrations(db);
          if (pending.length > 0) logger.warn('migrations pending; run `npm run migrate` (MIGRATE_ON_START is off)', { pending });
        }
        // The unique index is what keeps one record per id: without it the service does not start.
        if (!(await uniqueIdIndex(db))) {
          throw new StartupRefusal('integrations has no unique index on id: run the migrations (npm run migrate, or MIGRATE_ON_START=true)');
        }
      } catch (error) {
        if (error instanceof StartupRefusal || error instanceof MigrationLeaseHeld) throw error;
        const permanent = permanentFault(error);
        if (permanent) throw new StartupRefusal(permanent, { cause: error });
        throw error;
      }
      await assertCredentialsReadable(repository);
    },
    close: () => client.close(),
  };
}
