// What each driver error means, decided on purpose for every class the driver throws:
// - "the store cannot answer now" (503, retry): network, selection, timeouts, a node stepping down, the
//   pool closed or its wait queue full, a majority that did not acknowledge a write in time (the write may
//   still be applied, or be rolled back: the client reads before it writes again);
// - "no retry will mend this" (a permanent fault: refuse to start, one line): an incompatible server, a
//   failed authentication, a conflicting or non-unique index on `id`, majority reads turned off (PermanentStoreFault);
// - anything else is a bug or a refused command: it stays an error (500, logged).
import {
  MongoClientClosedError,
  MongoCompatibilityError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from 'mongodb';
import { StoreUnavailableError } from '../../../domain/errors';
import { PermanentStoreFault } from '../store';

// Server codes for a node that is stepping down, shutting down, unreachable or out of time; 64 is
// WriteConcernFailed (a wtimeout: the majority did not acknowledge in time), 134 a majority read not yet possible.
export const WRITE_CONCERN_FAILED = 64;
const TRANSIENT_SERVER_CODES = new Set([
  6,
  7,
  50,
  WRITE_CONCERN_FAILED,
  89,
  91,
  134,
  189,
  262,
  9001,
  10107,
  11600,
  11602,
  13435,
  13436,
]);
// Driver errors the package does not export, known by name: the pool was closed, or no connection freed in time.
const UNAVAILABLE_NAMES = new Set([
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
  'MongoPoolClearedError',
  'PoolClearedOnNetworkError',
]);

export const DUPLICATE_KEY = 11000;
export const AUTHENTICATION_FAILED = 18;
export const UNAUTHORIZED = 13;
export const INDEX_OPTIONS_CONFLICT = 85;
export const INDEX_KEY_SPECS_CONFLICT = 86;
export const READ_CONCERN_MAJORITY_NOT_ENABLED = 148;

/** The oldest MongoDB this service (its driver, mongodb 7) talks to, and its wire version. */
export const MIN_SERVER_VERSION = '4.4';
export const MIN_WIRE_VERSION = 9;
const SERVER_VERSION_OF_WIRE: Record<number, string> = {
  6: '3.6',
  7: '4.0',
  8: '4.2',
  9: '4.4',
  13: '5.0',
  17: '6.0',
  21: '7.0',
  25: '8.0',
};

/** True for every fault that makes the store unusable now, permanent ones included (a 503 to a request). */
export function isStoreUnavailable(error: unknown): boolean {
  if (permanentFault(error) !== null) return true;
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoOperationTimeoutError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoClientClosedError ||
    error instanceof MongoServerClosedError ||
    error instanceof MongoWriteConcernError
  ) {
    return true;
  }
  if (error instanceof MongoError && UNAVAILABLE_NAMES.has(error.name)) return true;
  if (error instanceof MongoServerError && typeof error.code === 'number' && TRANSIENT_SERVER_CODES.has(error.code))
    return true;
  return (
    error instanceof MongoError && (error.hasErrorLabel('ResetPool') || error.hasErrorLabel('RetryableWriteError'))
  );
}

/**
 * The reason, in one line an operator can act on, when `error` is a fault no retry mends; else null.
 * Never includes credentials: the driver's messages name hosts, versions and codes only.
 */
export function permanentFault(error: unknown): string | null {
  if (error instanceof PermanentStoreFault) return error.message;
  const compatibility = compatibilityProblem(error);
  if (compatibility) return compatibility;
  const server = serverErrorWithin(error);
  if (server?.code === AUTHENTICATION_FAILED)
    return (
      'MongoDB refused the credentials in MONGODB_URI (AuthenticationFailed): fix the user, password or ' + 'authSource'
    );
  if (server?.code === UNAUTHORIZED)
    return (
      `the MongoDB user in MONGODB_URI may not do this (Unauthorized: ${server.errmsg ?? server.message}): ` +
      `grant it readWrite on the database`
    );
  if (server?.code === READ_CONCERN_MAJORITY_NOT_ENABLED) {
    return (
      'MongoDB refuses reads at majority (ReadConcernMajorityNotEnabled, code 148: a 4.4 set started with ' +
      'enableMajorityReadConcern=false, as primary-secondary-arbiter sets often are); this service reads only at ' +
      'majority: start its members without that option, or replace the arbiter with a data-bearing member'
    );
  }
  if (server?.code === INDEX_OPTIONS_CONFLICT || server?.code === INDEX_KEY_SPECS_CONFLICT) {
    return (
      `an index on { id: 1 } exists with other options (${server.codeName}: ` +
      `${server.errmsg ?? server.message}): drop it or make it unique, then start again`
    );
  }
  // A driver call's failure wrapped on its way up (StoreUnavailableError, say) is judged by its cause.
  return error instanceof Error && error.cause !== undefined ? permanentFault(error.cause) : null;
}

/** "Server 4.2 is too old", from a handshake refusal or a server selection that failed because of one. */
function compatibilityProblem(error: unknown): string | null {
  const messages: string[] = [];
  if (error instanceof MongoCompatibilityError) messages.push(error.message);
  if (error instanceof MongoServerSelectionError) {
    const description = error.reason as
      | { compatibilityError?: string; servers?: Map<string, { error?: unknown; maxWireVersion?: number }> }
      | undefined;
    if (description?.compatibilityError) messages.push(description.compatibilityError);
    for (const server of description?.servers?.values() ?? []) {
      if (server.error instanceof MongoCompatibilityError) messages.push(server.error.message);
    }
  }
  const found = messages.find((message) => /wire version/.test(message));
  if (!found) return null;
  const wire = Number(/maximum wire version (\d+)|reports wire version (\d+)/.exec(found)?.slice(1).find(Boolean));
  const host = /Server at (\S+?)[ ,]/.exec(found)?.[1] ?? 'the server';
  const version =
    SERVER_VERSION_OF_WIRE[wire] ?? (Number.isFinite(wire) ? `older than ${MIN_SERVER_VERSION}` : 'incompatible');
  return (
    `MongoDB at ${host} is version ${version} (wire version ${Number.isFinite(wire) ? wire : '?'}); this ` +
    `service needs MongoDB ${MIN_SERVER_VERSION} or later (wire version ${MIN_WIRE_VERSION}): upgrade it ` +
    `(MIGRATION.md, step 1)`
  );
}

function serverErrorWithin(error: unknown): MongoServerError | undefined {
  if (error instanceof MongoServerError) return error;
  if (error instanceof MongoServerSelectionError) {
    const description = error.reason as { servers?: Map<string, { error?: unknown }> } | undefined;
    for (const server of description?.servers?.values() ?? [])
      if (server.error instanceof MongoServerError) return server.error;
  }
  if (error instanceof Error && error.cause) return serverErrorWithin(error.cause);
  return undefined;
}

/** Runs a driver call, turning "cannot reach the store" into StoreUnavailableError and passing anything else on. */
export async function translateDriverErrors<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isStoreUnavailable(error)) {
      throw new StoreUnavailableError(`MongoDB did not answer ${operation}: ${(error as Error).name}`, {
        cause: error,
      });
    }
    throw error;
  }
}
