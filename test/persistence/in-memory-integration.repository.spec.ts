import { expect } from 'chai';
import { InMemoryIntegrationRepository } from '../../src/adapters/persistence/in-memory-integration.repository';
import { MeasuredIntegrationRepository, type StoreOperation } from '../../src/adapters/persistence/measured-integration.repository';
import { TimeBoundIntegrationRepository } from '../../src/adapters/persistence/time-bound-integration.repository';
import { StoreUnavailableError } from '../../src/domain/errors';
import type { IntegrationRepository } from '../../src/application/integration-repository.port';
import { integrationRepositoryContract } from '../contract/integration-repository.contract';
import { theDefaults } from '../support/integration.mother';

integrationRepositoryContract('InMemoryIntegrationRepository', async (legacy) => ({ repository: new InMemoryIntegrationRepository(legacy) }));

integrationRepositoryContract('TimeBoundIntegrationRepository over in-memory', async (legacy) => ({
  repository: new TimeBoundIntegrationRepository(new InMemoryIntegrationRepository(legacy), 1_000),
}));

integrationRepositoryContract('MeasuredIntegrationRepository over in-memory', async (legacy) => ({
  repository: new MeasuredIntegrationRepository(new InMemoryIntegrationRepository(legacy), { operation: () => {}, failure: () => {} }),
}));

/** A store whose every call waits until released: a database that stopped answering. */
function stalledStore(): IntegrationRepository {
  const never = () => new Promise<never>(() => {});
  return { list: never, findById: never, replace: never, insertMissing: never, ping: never };
}

describe('TimeBoundIntegrationRepository', () => {
  it('answers StoreUnavailableError after its timeout when the store does not answer, for every operation', async () => {
    const repository = new TimeBoundIntegrationRepository(stalledStore(), 30);
    const [integration] = theDefaults();
    for (const call of [() => repository.list(), () => repository.findById('facebook'), () => repository.replace(integration), () => repository.ping()]) {
      const started = performance.now();
      const error = await call().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(StoreUnavailableError);
      expect(performance.now() - started).to.be.lessThan(1_000);
    }
  });
});

describe('MeasuredIntegrationRepository', () => {
  it('reports each operation, and as failures only the store being unavailable or a bug, never an answer', async () => {
    const seen: string[] = [];
    const observer = { operation: (op: StoreOperation) => seen.push(op), failure: (op: StoreOperation, kind: string) => seen.push(`${op}:${kind}`) };
    const measured = new MeasuredIntegrationRepository(new InMemoryIntegrationRepository(theDefaults()), observer);
    await measured.findById('facebook');
    const [facebook] = theDefaults();
    await measured.replace(facebook).catch(() => undefined); // version 1 over version 1: a conflict, an answer
    await new MeasuredIntegrationRepository(new TimeBoundIntegrationRepository(stalledStore(), 10), observer).ping().catch(() => undefined);
    expect(seen).to.deep.equal(['findById', 'replace', 'ping', 'ping:unavailable']);
  });
});
