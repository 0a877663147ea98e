// Access to a real MongoDB for the tests that need one: only when MONGODB_URI is set.
import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';

export const MONGODB_URI = process.env.MONGODB_URI;

let announced = false;

/** Declares a suite that runs against MongoDB when MONGODB_URI is set, and says plainly that it skipped otherwise. */
export function describeWithMongo(title: string, body: (getDb: () => Db) => void): void {
  if (!MONGODB_URI) {
    if (!announced) {
      process.stdout.write('  [mongo] MONGODB_URI is not set: the MongoDB legs of the suite are SKIPPED (run them with MONGODB_URI=mongodb://...)\n');
      announced = true;
    }
    describe(`${title} [skipped: MONGODB_URI is not set]`, () => {
      it('needs a MongoDB server: set MONGODB_URI to run it', function () {
        this.skip();
      });
    });
    return;
  }
  describe(`${title} [MongoDB at MONGODB_URI]`, () => {
    let client: MongoClient;
    let db: Db;
    before(async () => {
      client = await new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5000 }).connect();
    });
    beforeEach(() => {
      // A database of its own for every test, dropped afterwards.
      db = client.db(`integrations_test_${randomUUID().slice(0, 8)}`);
    });
    afterEach(async () => {
      await db.dropDatabase();
    });
    after(async () => {
      await client.close();
    });
    body(() => db);
  });
}
