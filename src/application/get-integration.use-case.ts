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

/**
 * Someone (the bot runtime, on every message) reads one integration. A copy the repository holds in memory and
 * may answer from (the read cache's) is answered at once, as a value: the same answer a read would give, without
 * a promise and the turns of the event loop it takes. Anything else is read, as a promise; errors are always a
 * rejected promise.
 */
@injectable()
export class GetIntegration {
  constructor(@inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository) {}

  execute({ id, seenVersion = 0 }: GetIntegrationInput): Served<Integration> | Promise<Served<Integration>> {
    // An id no record can have is answered without asking the store.
    if (!isValidId(id)) return Promise.reject(new IntegrationNotFoundError(id));
    const held = this.repository.held?.(id);
    if (held != null && isAtLeast(held, seenVersion)) return { value: held };
    return this.read(id, seenVersion);
  }

  private async read(id: string, seenVersion: number): Promise<Served<Integration>> {
    // A reader that has seen a newer version than a copy kept here must not be sent back in time: a copy
    // older than that is read again from the store, and a stale copy older than that is not served at all.
    const atLeastSeen = (found: Integration | null): boolean => isAtLeast(found, seenVersion);
    let served = await servedOrLastKnown(() => this.repository.findById(id), atLeastSeen);
    if (!atLeastSeen(served.value))
      served = await servedOrLastKnown(() => this.repository.findById(id, { fresh: true }), atLeastSeen);
    if (served.value === null) throw new IntegrationNotFoundError(id);
    return served as Served<Integration>;
  }
}

/** Whether an answer is at least the version a reader has seen (none found is never older). */
const isAtLeast = (found: Integration | null, seenVersion: number): boolean =>
  found === null || found.version >= seenVersion;
