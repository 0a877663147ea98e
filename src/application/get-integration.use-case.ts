import { inject, injectable } from 'inversify';
import { IntegrationNotFoundError } from '../domain/errors';
import type { Integration } from '../domain/integration.entity';
import { isValidId } from '../domain/integration-rules';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from './integration-repository.port';
import { servedOrLastKnown, type Served } from './served';

export interface GetIntegrationInput {
  id: string;
  /** The newest version the reader has seen (its If-None-Match): never answer it an older one. */
  seenVersion?: number;
}

/** Someone (the bot runtime, on every message) reads one integration. */
@injectable()
export class GetIntegration {
  constructor(@inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository) {}

  async execute({ id, seenVersion = 0 }: GetIntegrationInput): Promise<Served<Integration>> {
    // An id no record can have is answered without asking the store.
    if (!isValidId(id)) throw new IntegrationNotFoundError(id);
    // A reader that has seen a newer version than a copy kept here must not be sent back in time: a copy
    // older than that is read again from the store, and a stale copy older than that is not served at all.
    const atLeastSeen = (found: Integration | null): boolean => found === null || found.version >= seenVersion;
    let served = await servedOrLastKnown(() => this.repository.findById(id), atLeastSeen);
    if (!atLeastSeen(served.value)) served = await servedOrLastKnown(() => this.repository.findById(id, { fresh: true }), atLeastSeen);
    if (served.value === null) throw new IntegrationNotFoundError(id);
    return served as Served<Integration>;
  }
}
