// A real MongoDB for the tests that need one: MONGODB_URI when it is set; else, when a `mongod` binary is on PATH
// (or MONGOD_BIN names one), a throwaway single-node replica set started from it with mongodb-memory-server-core
// — never a download; else none, and every test that needs one is listed as pending under its own name.
import { accessSync, constants } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { MongoClient, type Db } from 'mongodb';

/** The mongod binary to start, if this machine has one. */
export function mongodBinary(): string | undefined {
  if (process.env.MONGOD_BIN) return process.env.MONGOD_BIN;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'mongod');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

let server: Promise<string | undefined> | undefined;
let announced = false;

/** The URI of a MongoDB to test against, started once per test process when it comes from a local binary. */
export function mongoUri(): Promise<string | undefined> {
  server ??= (async () => {
    if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
    const binary = mongodBinary();
    if (!binary) return undefined;
    // Never a download: this runs where only the npm registry may be reachable, or none.
    process.env.MONGOMS_RUNTIME_DOWNLOAD = 'false';
    const { MongoMemoryReplSet } = await import('mongodb-memory-server-core');
    const replSet = await MongoMemoryReplSet.create({
      binary: { systemBinary: binary },
      replSet: { count: 1, storageEngine: 'wiredTiger' },
    });
    process.once('exit', () => void replSet.stop({ doCleanup: true, force: true }));
    return replSet.getUri();
  })();
  return server;
}

function announceSkip(): void {
  if (announced) return;
  announced = true;
  process.stdout.write(
    '  [mongo] no MongoDB: MONGODB_URI is not set and no mongod is on PATH (or MONGOD_BIN): the MongoDB tests below ' +
      'are listed as pending\n',
  );
}

export interface MongoTestContext {
  uri: string;
  client: MongoClient;
  /** A database of this test's own, dropped afterwards. */
  db: Db;
  dbName: string;
}

/**
 * A suite that runs against a real MongoDB when there is one; otherwise each of its tests is listed as pending by
 * its own name (mocha skips a suite's tests from its `before` hook).
 */
export function describeWithMongo(title: string, body: (context: () => MongoTestContext) => void): void {
  describe(`${title} [real MongoDB]`, function () {
    this.timeout(60_000);
    let uri: string | undefined;
    let client: MongoClient | undefined;
    let current: MongoTestContext | undefined;
    before(async function () {
      uri = await mongoUri();
      if (!uri) {
        announceSkip();
        this.skip();
      }
      client = await new MongoClient(uri!, { serverSelectionTimeoutMS: 5_000 }).connect();
    });
    beforeEach(() => {
      const dbName = `integrations_test_${randomUUID().slice(0, 8)}`;
      current = { uri: uri!, client: client!, db: client!.db(dbName), dbName };
    });
    afterEach(async () => {
      await current?.db.dropDatabase().catch(() => undefined);
    });
    after(async () => {
      await client?.close();
    });
    body(() => current!);
  });
}
