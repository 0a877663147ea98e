import { expect } from 'chai';
import sinon from 'sinon';
import { CachedIntegrationRepository } from '../../src/adapters/persistence/cached-integration.repository';
import { InMemoryIntegrationRepository } from '../../src/adapters/persistence/in-memory-integration.repository';
import type { Integration } from '../../src/domain/integration.entity';
import { integrationRepositoryContract } from '../contract/integration-repository.contract';
import { T1, edit, theDefaults } from '../support/integration.mother';

integrationRepositoryContract('CachedIntegrationRepository over in-memory', async (legacy) => ({
  repository: new CachedIntegrationRepository(new InMemoryIntegrationRepository(legacy), { ttlMs: 60_000 }),
}));

describe('CachedIntegrationRepository', () => {
  let store: InMemoryIntegrationRepository;
  let clock: number;
  let cache: CachedIntegrationRepository;

  beforeEach(() => {
    store = new InMemoryIntegrationRepository(theDefaults());
    clock = 0;
    cache = new CachedIntegrationRepository(store, { ttlMs: 1000, now: () => clock });
  });

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
    await edit(store, 'facebook', { status: true }); // behind the cache's back, as another replica would
    expect((await cache.findById('facebook'))!.status).to.equal(false);
    clock = 1001;
    expect((await cache.findById('facebook'))!.status).to.equal(true);
  });

  it('never serves a record older than a write it acknowledged', async () => {
    await cache.findById('facebook');
    await cache.list();
    await edit(cache, 'facebook', { status: true });
    expect((await cache.findById('facebook'))!.version).to.equal(2);
    expect((await cache.list()).find((i) => i.id === 'facebook')!.version).to.equal(2);
  });

  it('does not keep what a read fetched while a write was under way', async () => {
    let release!: (value: Integration | null) => void;
    const before = await store.findById('facebook');
    sinon.stub(store, 'findById').onFirstCall().returns(new Promise((resolve) => (release = resolve))).callThrough();
    const slowRead = cache.findById('facebook'); // began before the write, answers the old record
    await cache.replace(before!.change({ status: true }, T1));
    release(before);
    expect((await slowRead)!.version).to.equal(1);
    expect((await cache.findById('facebook'))!.version).to.equal(2);
  });

  it('empties itself when a write fails, since its copy may be the stale one', async () => {
    await cache.findById('facebook');
    await edit(store, 'facebook', { status: true }); // another replica moved it to version 2
    await cache.replace(theDefaults()[0].change({ status: false }, T1)).catch(() => undefined); // made from version 1: a conflict
    expect((await cache.findById('facebook'))!.version).to.equal(2);
  });
});
