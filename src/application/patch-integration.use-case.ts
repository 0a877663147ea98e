import { inject, injectable } from 'inversify';
import { IntegrationNotFoundError, ValidationError, VersionConflictError } from '../domain/errors';
import { Integration, type IntegrationChanges } from '../domain/integration.entity';
import { isValidId } from '../domain/integration-rules';
import { CLOCK, type Clock } from './clock.port';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from './integration-repository.port';

export interface PatchIntegrationInput {
  id: string;
  /** The `id` the client sent in its body, if any: it must name the same record. */
  bodyId?: unknown;
  changes: IntegrationChanges;
  /** From If-Match: the write happens only while the record is at this version. */
  expectedVersion?: number;
}

/** Partial update: only the fields present change; `settings`, when present, replaces the whole object. */
@injectable()
export class PatchIntegration {
  constructor(
    @inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository,
    @inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ id, bodyId, changes, expectedVersion }: PatchIntegrationInput): Promise<Integration> {
    if (!isValidId(id)) throw new IntegrationNotFoundError(id);
    if (bodyId !== undefined && bodyId !== id) {
      throw new ValidationError([{ field: '/id', message: `must equal the id in the path ("${id}"); an id never changes` }]);
    }
    Integration.assertValidChanges(id, changes);
    const present = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as IntegrationChanges;
    if (Object.keys(present).length === 0) return this.current(id, expectedVersion);
    return this.repository.update(id, present, { expectedVersion, now: this.clock.now() });
  }

  /** Nothing to change is no change: answer the record as it is, still honouring If-Match. */
  private async current(id: string, expectedVersion?: number): Promise<Integration> {
    const found = await this.repository.findById(id);
    if (!found) throw new IntegrationNotFoundError(id);
    if (expectedVersion !== undefined && found.version !== expectedVersion) throw new VersionConflictError(id, expectedVersion);
    return found;
  }
}
