// Domain errors: each carries a stable `code`; the HTTP adapter maps codes to statuses in one place.

export type DomainErrorCode = 'NOT_FOUND' | 'VALIDATION' | 'VERSION_CONFLICT' | 'STORE_UNAVAILABLE';

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One broken rule: `field` is a JSON Pointer into the input (`/settings/secret`), `message` says what is wrong. */
export interface FieldError {
  field: string;
  message: string;
}

export class IntegrationNotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';

  constructor(readonly id: string) {
    super(`No integration with id "${id}"`);
  }
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION';

  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field || '/'}: ${e.message}`).join('; '));
  }
}

export class VersionConflictError extends DomainError {
  readonly code = 'VERSION_CONFLICT';

  /** `currentVersion`: the version the record is at, when known. */
  constructor(
    readonly id: string,
    readonly currentVersion?: number,
  ) {
    super(
      currentVersion === undefined
        ? `Integration "${id}" changed while this write was being applied`
        : `Integration "${id}" is at version ${currentVersion}, which is not the version this write was conditional on`,
    );
  }
}

/** The last copy of what was asked for that a replica still holds, and how old it is. */
export interface LastKnown<T = unknown> {
  value: T;
  ageMs: number;
}

export class StoreUnavailableError extends DomainError {
  readonly code = 'STORE_UNAVAILABLE';

  /** `lastKnown`: a copy of what was asked for, kept from an earlier answer, that may be served instead
   * (stale-if-error). */
  constructor(message: string, options?: { cause?: unknown; lastKnown?: LastKnown }) {
    super(message, options);
    this.lastKnown = options?.lastKnown;
  }

  readonly lastKnown?: LastKnown;
}

/**
 * A stored record that cannot be read here as a whole: a credential sealed with a key this replica lacks, or
 * altered. It cannot be served (a 503); `readablePart` is the record with what could not be opened left empty,
 * from which an edit that replaces the whole of `settings` may still write the record again.
 */
export class UnreadableRecordError extends StoreUnavailableError {
  constructor(
    message: string,
    readonly readablePart?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
