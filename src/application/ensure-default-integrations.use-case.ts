import { inject, injectable } from 'inversify';
import { DEFAULT_INTEGRATIONS } from '../domain/default-integrations';
import { Integration } from '../domain/integration.entity';
import { CLOCK, type Clock } from './clock.port';
import { INTEGRATION_REPOSITORY, type InsertMissingResult, type IntegrationRepository } from './integration-repository.port';

/** The seed: inserts whichever default integration is missing and never overwrites one that exists. */
@injectable()
export class EnsureDefaultIntegrations {
  constructor(
    @inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository,
    @inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute(): Promise<InsertMissingResult> {
    const now = this.clock.now();
    return this.repository.insertMissing(DEFAULT_INTEGRATIONS.map((props) => Integration.create(props, now)));
  }
}
