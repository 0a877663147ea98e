import { inject, injectable } from 'inversify';
import { IntegrationNotFoundError } from '../domain/errors';
import type { Integration } from '../domain/integration.entity';
import { isValidId } from '../domain/integration-rules';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from './integration-repository.port';

@injectable()
export class GetIntegration {
  constructor(@inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository) {}

  async execute(id: string): Promise<Integration> {
    // An id no record can have is answered without asking the store.
    const found = isValidId(id) ? await this.repository.findById(id) : null;
    if (!found) throw new IntegrationNotFoundError(id);
    return found;
  }
}
