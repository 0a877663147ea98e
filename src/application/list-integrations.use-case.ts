import { inject, injectable } from 'inversify';
import type { Integration } from '../domain/integration.entity';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from './integration-repository.port';
import { servedOrLastKnown, type Served } from './served';

/** Someone (the admin UI's integrations page) lists every integration. */
@injectable()
export class ListIntegrations {
  constructor(@inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository) {}

  execute(): Promise<Served<Integration[]>> {
    return servedOrLastKnown(() => this.repository.list());
  }
}
