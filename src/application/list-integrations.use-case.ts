import { inject, injectable } from 'inversify';
import { StoreUnavailableError } from '../domain/errors';
import type { Integration } from '../domain/integration.entity';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from './integration-repository.port';
import { LIST_COPY, STALE_COPIES, type Served, type StaleCopies } from './stale-copies';

/** Someone (the admin UI's integrations page) lists every integration. */
@injectable()
export class ListIntegrations {
  constructor(
    @inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository,
    @inject(STALE_COPIES) private readonly copies: StaleCopies,
  ) {}

  async execute(): Promise<Served<Integration[]>> {
    try {
      const all = await this.repository.list();
      this.copies.remember(LIST_COPY, all);
      return { value: all };
    } catch (error) {
      const copy = error instanceof StoreUnavailableError ? this.copies.recall<Integration[]>(LIST_COPY) : undefined;
      if (copy) return copy;
      throw error;
    }
  }
}
