import { inject, injectable } from 'inversify';
import { DEFAULT_INTEGRATIONS } from '../domain/default-integrations';
import { Integration } from '../domain/integration.entity';
import { CLOCK, type Clock } from './clock.port';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from './integration-repository.port';

export interface EnsureDefaultsOutcome {
  /** The records this call created (for the audit). */
  created: Integration[];
  /** The ids that existed already, untouched. */
  existing: string[];
}

/** The seed: inserts whichever default integration is missing and never overwrites one that exists. */
@injectable()
export class EnsureDefaultIntegrations {
  constructor(
    @inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository,
    @inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(): Promise<EnsureDefaultsOutcome> {
    const now = this.clock.now();
    const offered = DEFAULT_INTEGRATIONS.map((props) => Integration.create(props, now));
    const { created, existing } = await this.repository.insertMissing(offered);
    return { created: offered.filter((integration) => created.includes(integration.id)), existing };
  }
}
