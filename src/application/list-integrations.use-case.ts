import { inject, injectable } from 'inversify';
import type { Integration } from '../domain/integration.entity';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from './integration-repository.port';

@injectable()
export class ListIntegrations {
  constructor(@inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository) {}

  execute(): Promise<Integration[]> {
    return this.repository.list();
  }
}
