// The MongoDB store's life: its client and how every operation is bounded, start-up (connect, migrations on a
// client of their own, the checks a start needs), the change feed, and closing. Everything MongoDB-specific the
// service does lives under this folder.
import { MongoClient } from 'mongodb';
import { errorFields, type Logger } from '../../../application/logger.port';
import { unreadableCredentials } from '../credential-resealer';
import type { RecordCodec } from '../record-codec';
import { PermanentStoreFault, type Store } from '../store';
import { MongoChangeFeed } from './mongo-change-feed';
import { permanentFault, translateDriverErrors } from './mongo-errors';
import { INTEGRATIONS_COLLECTION, MongoIntegrationRepository } from './mongo-integration.repository';
import {
  MigrationLeaseHeld,
  applyPendingMigrations,
  pendingMigrations,
  serverKind,
  uniqueIdIndex,
} from './mongo-migrations';
import { watchPool, type PoolGauges } from './mongo-pool';

export interface MongoStoreOptions {
  uri: string;
  dbName: string;
  maxPoolSize: number;
  /** Bound on every operation a request waits for. */
  storeTimeoutMs: number;
  migrateOnStart: boolean;
  codec: RecordCodec;
  logger: Logger;
  pool?: PoolGauges;
  feedGauges?: ChangeFeedGauges;
}

/** The change stream's state and reopen count, for /metrics. */
export interface ChangeFeedGauges {
  changeStream(live: boolean): void;
  changeStreamReopened(): void;
}

/** How long a write waits for a majority: below the operation's bound, so a slow majority is a clear 503. */
export function writeConcernTimeoutMs(storeTimeoutMs: number): number {
  return Math.max(1, Math.floor((storeTimeoutMs * 3) / 4));
}

/** The bound on each step of a migration (an index build on a large collection, a slow majority). */
export const MIGRATION_TIMEOUT_MS = 60_000;

/**
 * Applies pending migrations on a client of their own, whose operations may take as long as a migration step
 * needs (the service's client gives up after STORE_TIMEOUT_MS). Used by the service's start and by `npm run migrate`.
 */
export async function migrateWithOwnClient(
  uri: string,
  dbName: string,
  options: {
    log: (msg: string, fields: Record<string, unknown>) => void;
    signal?: AbortSignal;
    serverSelectionTimeoutMS?: number;
  },
): Promise<string[]> {
  const client = new MongoClient(uri, {
    appName: 'integrations-service-migrations',
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 10_000,
    socketTimeoutMS: MIGRATION_TIMEOUT_MS + 10_000,
    maxPoolSize: 2,
  });
  try {
    await client.connect();
    return await applyPendingMigrations(client.db(dbName), {
      maxTimeMS: MIGRATION_TIMEOUT_MS,
      log: options.log,
      signal: options.signal,
    });
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** The credential store `npm run reseal` works on, on a client of its own; `close` when done. */
export async function resealStoreWithOwnClient(
  uri: string,
  dbName: string,
  codec: RecordCodec,
  timeoutMs: number,
): Promise<{ store: MongoIntegrationRepository; close: () => Promise<void> }> {
  const client = await new MongoClient(uri, {
    appName: 'integrations-service-reseal',
    serverSelectionTimeoutMS: timeoutMs,
  }).connect();
  return {
    store: new MongoIntegrationRepository(client.db(dbName), codec, { maxTimeMS: timeoutMs, wtimeoutMS: timeoutMs }),
    close: () => client.close(),
  };
}

export function createMongoStore(options: MongoStoreOptions): Store & { feed: MongoChangeFeed } {
  const { uri, dbName, storeTimeoutMs, logger } = options;
  // Constructing the client connects nothing: the container stays synchronous and /readyz can answer 503
  // while prepare() retries against a store that is not up yet.
  const client = new MongoClient(uri, {
    appName: 'integrations-service',
    maxPoolSize: options.maxPoolSize,
    // Each phase of an operation is bounded on its own, the server aborts an operation past maxTimeMS, and
    // TimeBoundIntegrationRepository bounds the whole.
    serverSelectionTimeoutMS: storeTimeoutMs,
    connectTimeoutMS: storeTimeoutMs,
    waitQueueTimeoutMS: storeTimeoutMs,
    socketTimeoutMS: storeTimeoutMs + 1_000,
    // Reads from the primary only: see mongo-integration.repository.ts. Without a primary, the stale copy answers.
    readPreference: 'primary',
  });
  if (options.pool) watchPool(client, options.pool);
  const db = client.db(dbName);
  const repository = new MongoIntegrationRepository(db, options.codec, {
    maxTimeMS: storeTimeoutMs,
    wtimeoutMS: writeConcernTimeoutMs(storeTimeoutMs),
  });
  const feed = new MongoChangeFeed(db.collection(INTEGRATIONS_COLLECTION), {
    onState: (state, detail) => {
      options.feedGauges?.changeStream(state === 'live');
      logger[state === 'live' ? 'info' : 'warn'](`change stream ${state}`, {
        ...detail,
        caches: state === 'live' ? 'kept until a change' : 'expire by CACHE_TTL_MS',
      });
    },
    onReopen: (detail) => {
      options.feedGauges?.changeStreamReopened();
      logger.warn('change stream opens again', detail);
    },
  });
  const stopping = new AbortController();

  const checks = async (): Promise<void> => {
    await translateDriverErrors('connect', () => client.connect());
    const kind = await translateDriverErrors('hello', () => serverKind(db));
    if (kind === 'replica set' && client.options.directConnection) {
      // The driver then marks every read primaryPreferred (the server-selection spec, for direct connections).
      logger.warn(
        'MONGODB_URI connects directly (directConnection=true) to a replica set member: reads then go to that ' +
          'member even when it is a secondary behind an acknowledged write; for a set of more than one member, name ' +
          'the set instead (replicaSet=<name>, no directConnection)',
        {},
      );
    }
    if (options.migrateOnStart) {
      const applied = await migrateWithOwnClient(uri, dbName, {
        log: (msg, fields) => logger.info(msg, fields),
        signal: stopping.signal,
        serverSelectionTimeoutMS: storeTimeoutMs,
      });
      if (applied.length > 0) logger.info('migrations applied', { applied });
    } else {
      const pending = await pendingMigrations(db);
      if (pending.length > 0)
        logger.warn('migrations pending; run `npm run migrate` (MIGRATE_ON_START is off)', { pending });
    }
    // The unique index is what keeps one record per id: without it the service does not start.
    if (!(await uniqueIdIndex(db))) {
      throw new PermanentStoreFault(
        'integrations has no unique index on id: run the migrations (npm run migrate, or MIGRATE_ON_START=true)',
      );
    }
    const unreadable = await unreadableCredentials(repository.eachStoredRecord(), options.codec.cipher);
    if (unreadable) throw new PermanentStoreFault(unreadable);
    if (kind === 'standalone') {
      logger.warn(
        'MongoDB is a standalone server: it has no change streams, so caches expire by CACHE_TTL_MS only (another ' +
          "replica's write shows after at most that long)",
        {},
      );
      feed.unavailable('a standalone server has no change streams');
    } else {
      options.feedGauges?.changeStream(false);
      feed.start();
    }
  };

  return {
    kind: 'mongodb',
    repository,
    feed,
    async prepare() {
      try {
        await checks();
      } catch (error) {
        if (error instanceof PermanentStoreFault || error instanceof MigrationLeaseHeld) throw error;
        const permanent = permanentFault(error);
        if (permanent) throw new PermanentStoreFault(permanent, { cause: error });
        throw error;
      }
    },
    async close() {
      stopping.abort();
      await feed.stop();
      await client
        .close()
        .catch((error: unknown) => logger.warn('store did not close cleanly', errorFields(error, { stack: false })));
    },
  };
}
