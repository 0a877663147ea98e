import { InMemoryIntegrationRepository } from '../../src/adapters/persistence/in-memory-integration.repository';
import { integrationRepositoryContract } from '../contract/integration-repository.contract';

integrationRepositoryContract('InMemoryIntegrationRepository', async () => ({ repository: new InMemoryIntegrationRepository() }));
