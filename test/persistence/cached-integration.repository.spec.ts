// The one read cache: kept true by the store's change feed (another replica's write, the old store's), expiring
// by TTL while the feed is down, never answering older than this replica's own acknowledged write, and keeping
// the copies stale-if-error serves, never one older than a change it heard of.
import { expect } from 'chai';
import sinon from 'sinon';
import { CachedIntegrationRepository } from '../../src/adapters/persistence/cached-integration.repository';
import { ChangeListeners } from '../../src/adapters/persistence/change-feed';
import { InMemoryIntegrationRepository } from '../../src/adapters/persistence/in-memory-integration.repository';
import type { IntegrationRepository } from '../../src/application/integration-repository.port';
import { StoreUnavailableError } from '../../src/domain/errors';
import type { Integration } from '../../src/domain/integration.entity';
import { integrationRepositoryContract } from '../contract/integration-repository.contract';
import { T1, edit, theDefaults } from '../support/integration.mother';

integrationRepositoryContract('CachedIntegrationRepository over in-memory (its change feed)', async (legacy) => {
  const store = new InMemoryIntegrationRepository(legacy);
  return { repository: new CachedIntegrationRepository(store, { ttlMs: 60_000, staleIfErrorMs: 60_000, feed: store }) };
});

integrationRepositoryContract(
  'CachedIntegrationRepository over in-memory, no change feed (TTL only)',
  async (legacy) => ({
    repository: new CachedIntegrationRepository(new InMemoryIntegrationRepository(legacy), { ttlMs: 60_000 }),
  }),
);

/** A store another replica (or the old Python store) also writes to, behind this replica's back. */
function sharedStore(): InMemoryIntegrationRepository {
  return new InMemoryIntegrationRepository(theDefaults().map((integration) => integration.toRecord()));
}

/** A store that answers, or fails as one that cannot be reached. */
function failing(inner: IntegrationRepository): IntegrationRepository & { down: boolean } {
  const unavailable = () => Promise.reject(new StoreUnavailableError('unreachable'));
  const double = {
    down: false,
    list: () => (double.down ? unavailable() : inner.list()),
    findById: (id: string, options?: { fresh?: boolean }) =>
      double.down ? unavailable() : inner.findById(id, options),
    replace: (next: Integration) => (double.down ? unavailable() : inner.replace(next)),
    insertMissing: (all: readonly Integration[]) => (double.down ? unavailable() : inner.insertMissing(all)),
    ping: () => (double.down ? unavailable() : inner.ping()),
  };
  return double as never;
}

describe('CachedIntegrationRepository', () => {
  let store: InMemoryIntegrationRepository;
  let feed: ChangeListeners;
  let clock: number;
  let cache: CachedIntegrationRepository;

  beforeEach(() => {
    store = sharedStore();
    feed = new ChangeListeners('lost');
    clock = 0;
    cache = new CachedIntegrationRepository(store, { ttlMs: 1_000, staleIfErrorMs: 60_000, feed, now: () => clock });
  });

  afterEach(() => sinon.restore());

  describe('while the change feed is down', () => {
    it('serves repeated reads of a record from memory within the TTL', async () => {
      const findById = sinon.spy(store, 'findById');
      await cache.findById('facebook');
      await cache.findById('facebook');
      clock = 999;
      await cache.findById('facebook');
      expect(findById.callCount).to.equal(1);
    });

    it('coalesces concurrent misses for one id into a single store read', async () => {
      const findById = sinon.spy(store, 'findById');
      await Promise.all(Array.from({ length: 50 }, () => cache.findById('facebook')));
      expect(findById.callCount).to.equal(1);
    });

    it("shows another replica's write once the TTL has passed", async () => {
      await cache.findById('facebook');
      await edit(store, 'facebook', { status: true }); // behind the cache's back
      expect((await cache.findById('facebook'))!.status).to.equal(false);
      clock = 1001;
      expect((await cache.findById('facebook'))!.status).to.equal(true);
    });
  });

  describe('while the change feed is live', () => {
    beforeEach(() => feed.live());

    it('keeps a copy past the TTL until the feed tells of a change to it', async () => {
      const findById = sinon.spy(store, 'findById');
      await cache.findById('facebook');
      clock = 3_600_000;
      await cache.findById('facebook');
      expect(findById.callCount).to.equal(1);
      await edit(store, 'facebook', { status: true });
      findById.resetHistory();
      feed.changed('facebook');
      expect((await cache.findById('facebook'))!.status).to.equal(true);
      expect(findById.callCount).to.equal(1);
    });

    it('expires what it holds by the TTL from the moment the feed is lost', async () => {
      await cache.findById('facebook');
      clock = 50_000;
      feed.lost();
      await edit(store, 'facebook', { status: true }); // a change the feed did not tell
      clock = 50_999;
      expect((await cache.findById('facebook'))!.status).to.equal(false);
      clock = 51_001;
      expect((await cache.findById('facebook'))!.status).to.equal(true);
    });

    it('drops every copy when the feed cannot say which record changed', async () => {
      await cache.findById('facebook');
      await cache.list();
      await edit(store, 'facebook', { status: true });
      feed.changed();
      expect((await cache.findById('facebook'))!.status).to.equal(true);
      expect((await cache.list()).find((i) => i.id === 'facebook')!.status).to.equal(true);
    });
  });

  it(
    'holds for an answer at once exactly the copy a read would serve from memory, and nothing when a read would ' +
      'ask the store',
    async () => {
      expect(cache.held('facebook'), 'never read').to.equal(undefined);
      const reading = cache.findById('facebook');
      expect(cache.held('facebook'), 'a read under way').to.equal(undefined);
      const read = await reading;
      expect(cache.held('facebook')).to.equal(read);
      await cache.findById('telegram');
      expect(cache.held('telegram'), 'a record the store has not').to.equal(null);
      clock = 1_001;
      expect(cache.held('facebook'), 'past the TTL, the feed down').to.equal(undefined);
      await edit(cache, 'facebook', { status: true });
      expect(cache.held('facebook')!.status, 'its own acknowledged write').to.equal(true);
      feed.live();
      await cache.findById('chat_widget');
      clock = 3_600_000;
      expect(cache.held('chat_widget'), 'the feed live: current until it tells of a change').to.not.equal(undefined);
      feed.changed('chat_widget');
      expect(cache.held('chat_widget'), 'a change the feed told').to.equal(undefined);
    },
  );

  it('never serves a record, or a list, older than a write it acknowledged', async () => {
    await cache.findById('facebook');
    await cache.list();
    await edit(cache, 'facebook', { status: true });
    expect((await cache.findById('facebook'))!.version).to.equal(2);
    expect((await cache.list()).find((i) => i.id === 'facebook')!.version).to.equal(2);
  });

  it('keeps the newer record when two writes are acknowledged in the reverse order they were applied', async () => {
    const v1 = (await store.findById('facebook'))!;
    const v2 = v1.change({ status: true }, T1);
    const v3 = v2.change({ description: 'Messenger, rotated' }, T1);
    const acks: (() => void)[] = [];
    const apply = store.replace.bind(store);
    sinon.stub(store, 'replace').callsFake(async (next) => {
      await apply(next); // the store has it; its reply is still on the wire
      await new Promise<void>((resolve) => acks.push(resolve));
    });
    const flaky = failing(store);
    cache = new CachedIntegrationRepository(flaky, { ttlMs: 1_000, staleIfErrorMs: 60_000, feed, now: () => clock });
    const writingV2 = cache.replace(v2);
    await new Promise((resolve) => setImmediate(resolve));
    const writingV3 = cache.replace(v3);
    await new Promise((resolve) => setImmediate(resolve));
    acks[1]!(); // v3's reply first
    await writingV3;
    acks[0]!();
    await writingV2;
    expect((await cache.findById('facebook'))!.version, 'the read').to.equal(3);
    flaky.down = true;
    clock = 2_000;
    const error = (await cache.findById('facebook').catch((e: unknown) => e)) as StoreUnavailableError;
    expect((error.lastKnown!.value as Integration).version, 'the stale-if-error copy').to.equal(3);
  });

  it('does not keep what a read fetched while a write was under way', async () => {
    let release!: (value: Integration | null) => void;
    const before = await store.findById('facebook');
    sinon
      .stub(store, 'findById')
      .onFirstCall()
      .returns(new Promise((resolve) => (release = resolve)))
      .callThrough();
    const slowRead = cache.findById('facebook'); // began before the write, answers the old record
    await cache.replace(before!.change({ status: true }, T1));
    release(before);
    expect((await slowRead)!.version).to.equal(1);
    expect((await cache.findById('facebook'))!.version).to.equal(2);
  });

  it('does not keep a list that began before a write and ended after it', async () => {
    let release!: (value: Integration[]) => void;
    const before = await store.list();
    sinon
      .stub(store, 'list')
      .onFirstCall()
      .returns(new Promise((resolve) => (release = resolve)))
      .callThrough();
    const slowList = cache.list();
    await edit(cache, 'facebook', { status: true });
    release(before);
    await slowList;
    expect((await cache.list()).find((i) => i.id === 'facebook')!.version).to.equal(2);
  });

  it('empties itself of a record when a write of it fails, since its copy may be the stale one', async () => {
    await cache.findById('facebook');
    await edit(store, 'facebook', { status: true }); // another replica moved it to version 2
    await cache.replace(theDefaults()[0]!.change({ status: false }, T1)).catch(() => undefined); // made from version 1: a conflict
    expect((await cache.findById('facebook'))!.version).to.equal(2);
  });

  it('reads the store itself when asked for a fresh read, and keeps what it read', async () => {
    feed.live();
    await cache.findById('facebook');
    await edit(store, 'facebook', { status: true });
    expect((await cache.findById('facebook', { fresh: true }))!.version).to.equal(2);
    expect((await cache.findById('facebook'))!.version).to.equal(2);
  });

  describe('stale-if-error', () => {
    let flaky: ReturnType<typeof failing>;

    beforeEach(() => {
      flaky = failing(store);
      cache = new CachedIntegrationRepository(flaky, { ttlMs: 1_000, staleIfErrorMs: 60_000, feed, now: () => clock });
    });

    it('offers its copy, with its age, on the error of a store that does not answer', async () => {
      await cache.findById('facebook');
      clock = 5_000;
      flaky.down = true;
      const error = (await cache.findById('facebook').catch((e: unknown) => e)) as StoreUnavailableError;
      expect(error).to.be.instanceOf(StoreUnavailableError);
      expect(error.lastKnown).to.deep.include({ ageMs: 5_000 });
      expect((error.lastKnown!.value as Integration).version).to.equal(1);
    });

    it('offers no copy older than STALE_IF_ERROR_MS', async () => {
      await cache.findById('facebook');
      clock = 60_001;
      flaky.down = true;
      expect(((await cache.findById('facebook').catch((e: unknown) => e)) as StoreUnavailableError).lastKnown).to.equal(
        undefined,
      );
    });

    it('offers the record of its own last acknowledged write, never the one before', async () => {
      await cache.findById('facebook');
      await edit(cache, 'facebook', { status: true });
      clock = 2_000;
      flaky.down = true;
      expect(
        ((await cache.findById('facebook').catch((e: unknown) => e)) as StoreUnavailableError).lastKnown!.value,
      ).to.have.property('version', 2);
      expect(((await cache.list().catch((e: unknown) => e)) as StoreUnavailableError).lastKnown).to.equal(undefined);
    });

    it('offers no copy of a record the feed said changed (another replica disabled it, rotated its token)', async () => {
      await cache.findById('facebook');
      await cache.list();
      feed.changed('facebook');
      flaky.down = true;
      expect(((await cache.findById('facebook').catch((e: unknown) => e)) as StoreUnavailableError).lastKnown).to.equal(
        undefined,
      );
      expect(((await cache.list().catch((e: unknown) => e)) as StoreUnavailableError).lastKnown).to.equal(undefined);
      expect(
        ((await cache.findById('chat_widget').catch((e: unknown) => e)) as StoreUnavailableError).lastKnown,
      ).to.equal(undefined);
    });
  });
});
