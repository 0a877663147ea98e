import { inject, injectable } from 'inversify';
import { IntegrationNotFoundError, StoreUnavailableError } from '../domain/errors';
import type { Integration } from '../domain/integration.entity';
import { isValidId } from '../domain/integration-rules';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from './integration-repository.port';
import { STALE_COPIES, type Served, type StaleCopies } from './stale-copies';

/** Someone (the bot runtime, on every message) reads one integration. */
@injectable()
export class GetIntegration {
  constructor(
    @inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository,
    @inject(STALE_COPIES) private readonly copies: StaleCopies,
  ) {}

  async execute(id: string): Promise<Served<Integration>> {
    // An id no record can have is answered without asking the store.
    if (!isValidId(id)) throw new IntegrationNotFoundError(id);
    let found: Integration | null;
    try {
      found = await this.repository.findById(id);
    } catch (error) {
      const copy = error instanceof StoreUnavailableError ? this.copies.recall<Integration>(id) : undefined;
      if (copy) return copy;
      throw error;
    }
    if (!found) {
      this.copies.forget(id);
      throw new IntegrationNotFoundError(id);
    }
    this.copies.remember(id, found);
    return { value: found };
  }
}
