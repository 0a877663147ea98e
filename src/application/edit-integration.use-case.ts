import { inject, injectable, optional } from 'inversify';
import {
  IntegrationNotFoundError,
  StoreUnavailableError,
  UnreadableRecordError,
  VersionConflictError,
} from '../domain/errors';
import type { Integration, IntegrationChanges } from '../domain/integration.entity';
import { isValidId } from '../domain/integration-rules';
import { CLOCK, type Clock } from './clock.port';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from './integration-repository.port';

/** The versions the editor saw: the edit applies only while the record's version fits. */
export interface EditPrecondition {
  /** Only while the record is at one of these versions (an empty list never fits). */
  versionIn?: readonly number[];
  /** Only while the record is at none of these versions; 'any' fits no existing record. */
  versionNotIn?: readonly number[] | 'any';
}

export interface EditOutcome {
  integration: Integration;
  /** The record the edit was applied to (the same as `integration` when nothing changed). */
  previous: Integration;
}

export interface EditIntegrationInput {
  id: string;
  changes: IntegrationChanges;
  precondition?: EditPrecondition;
}

/**
 * How long an unconditional edit that keeps losing the race to other writers reads again and re-applies its
 * changes before it answers "retry": the service binds it to STORE_TIMEOUT_MS, what a request may wait.
 */
export const EDIT_PATIENCE_MS = Symbol.for('EditPatienceMs');
const DEFAULT_EDIT_PATIENCE_MS = 3_000;

/**
 * Someone edits an integration: the fields given change, the others stay; `settings`, when given,
 * replaces the whole object. No change at all answers the record as it is.
 */
@injectable()
export class EditIntegration {
  constructor(
    @inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository,
    @inject(CLOCK) private readonly clock: Clock,
    @inject(EDIT_PATIENCE_MS) @optional() private readonly patienceMs: number = DEFAULT_EDIT_PATIENCE_MS,
  ) {}

  private async readForEdit(id: string, changes: IntegrationChanges): Promise<Integration | null> {
    try {
      return await this.repository.findById(id, { fresh: true });
    } catch (error) {
      const readable = readablePartFor(error, changes);
      if (readable === undefined) throw error;
      return readable;
    }
  }

  async execute({ id, changes, precondition = {} }: EditIntegrationInput): Promise<EditOutcome> {
    // Monotonic, not the clock port: that one stamps records, and tests fix it.
    const giveUpAt = performance.now() + this.patienceMs;
    for (let attempt = 1; ; attempt += 1) {
      // The version check is against the store itself, never a copy kept for speed (another replica may have
      // written since): a client holding the current ETag is never refused.
      const current = isValidId(id) ? await this.readForEdit(id, changes) : null;
      if (!current) throw new IntegrationNotFoundError(id);
      if (!fits(precondition, current.version)) throw new VersionConflictError(id, current.version);
      const next = current.change(changes, this.clock.now());
      if (next === current) return { integration: current, previous: current };
      try {
        await this.repository.replace(next);
        return { integration: next, previous: current };
      } catch (error) {
        // A conditional edit was made against the version another writer just replaced: it must not apply.
        const conditional = precondition.versionIn !== undefined || precondition.versionNotIn !== undefined;
        if (!(error instanceof VersionConflictError) || conditional) throw error;
        // A random pause, so writers that collided do not collide again in lockstep.
        const pauseMs = Math.random() * Math.min(attempt * 2, 20);
        if (performance.now() + pauseMs >= giveUpAt)
          throw new StoreUnavailableError(`integration "${id}" is being written too often to apply this edit; retry`);
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  }
}

/** An edit that replaces the whole of `settings` needs none of the values a replica cannot open: it may start from the
 * rest. */
function readablePartFor(error: unknown, changes: IntegrationChanges): Integration | undefined {
  return error instanceof UnreadableRecordError && changes.settings !== undefined
    ? (error.readablePart as Integration | undefined)
    : undefined;
}

function fits({ versionIn, versionNotIn }: EditPrecondition, version: number): boolean {
  if (versionIn !== undefined && !versionIn.includes(version)) return false;
  if (versionNotIn === 'any') return false;
  return versionNotIn === undefined || !versionNotIn.includes(version);
}
