// The embedded store and the decorators around every store, each through the contract suite; and the whole
// production stack (REPOSITORY_LAYERS, as the container assembles it) through the same suite.
import { expect } from 'chai';
import sinon from 'sinon';
import { InMemoryIntegrationRepository } from '../../src/adapters/persistence/in-memory-integration.repository';
import {
  MeasuredIntegrationRepository,
  type StoreOperation,
} from '../../src/adapters/persistence/measured-integration.repository';
import { TimeBoundIntegrationRepository } from '../../src/adapters/persistence/time-bound-integration.repository';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from '../../src/application/integration-repository.port';
import { StoreUnavailableError } from '../../src/domain/errors';
import { loadConfig } from '../../src/infrastructure/config';
import { buildContainer } from '../../src/infrastructure/container';
import { integrationRepositoryContract } from '../contract/integration-repository.contract';
import { theDefaults } from '../support/integration.mother';
import { TEST_ENV, silentStream } from '../support/service';

integrationRepositoryContract('InMemoryIntegrationRepository', async (legacy) => ({
  repository: new InMemoryIntegrationRepository(legacy),
}));

integrationRepositoryContract('TimeBoundIntegrationRepository over in-memory', async (legacy) => ({
  repository: new TimeBoundIntegrationRepository(new InMemoryIntegrationRepository(legacy), 1_000),
}));

integrationRepositoryContract('MeasuredIntegrationRepository over in-memory', async (legacy) => ({
  repository: new MeasuredIntegrationRepository(new InMemoryIntegrationRepository(legacy), {
    operation: () => {},
    failure: () => {},
  }),
}));

integrationRepositoryContract(
  'the production stack (REPOSITORY_LAYERS) over in-memory, as the container assembles it',
  async (legacy) => {
    const container = buildContainer(loadConfig(TEST_ENV), { memorySeed: legacy, logStream: silentStream() });
    return { repository: container.get<IntegrationRepository>(INTEGRATION_REPOSITORY) };
  },
);

/** A store whose every call waits until released: a database that stopped answering. */
function stalledStore(): IntegrationRepository {
  const never = () => new Promise<never>(() => {});
  return { list: never, findById: never, replace: never, insertMissing: never, ping: never };
}

describe('TimeBoundIntegrationRepository', () => {
  afterEach(() => sinon.restore());

  it(
    'answers StoreUnavailableError once its timeout has passed, not before, when the store does not answer, for ' +
      'every operation',
    async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const repository = new TimeBoundIntegrationRepository(stalledStore(), 30);
      const [integration] = theDefaults();
      for (const call of [
        () => repository.list(),
        () => repository.findById('facebook'),
        () => repository.replace(integration),
        () => repository.ping(),
      ]) {
        let outcome: unknown = 'pending';
        call().catch((error: unknown) => (outcome = error));
        await clock.tickAsync(29);
        expect(outcome).to.equal('pending');
        await clock.tickAsync(1);
        expect(outcome).to.be.instanceOf(StoreUnavailableError);
      }
    },
  );
});

describe('MeasuredIntegrationRepository', () => {
  it('reports each operation, and as failures only the store being unavailable or a bug, never an answer', async () => {
    const seen: string[] = [];
    const observer = {
      operation: (op: StoreOperation) => seen.push(op),
      failure: (op: StoreOperation, kind: string) => seen.push(`${op}:${kind}`),
    };
    const measured = new MeasuredIntegrationRepository(
      new InMemoryIntegrationRepository(theDefaults().map((i) => i.toRecord())),
      observer,
    );
    await measured.findById('facebook');
    const [facebook] = theDefaults();
    await measured.replace(facebook).catch(() => undefined); // version 1 over version 1: a conflict, an answer
    await new MeasuredIntegrationRepository(new TimeBoundIntegrationRepository(stalledStore(), 10), observer)
      .ping()
      .catch(() => undefined);
    expect(seen).to.deep.equal(['findById', 'replace', 'ping', 'ping:unavailable']);
  });
});
