// Which driver errors mean "the store cannot answer now" (503 and retry) rather than a bug (500).
import {
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { StoreUnavailableError } from '../../domain/errors';

// Server codes for a node that is stepping down, shutting down, unreachable or out of time.
const TRANSIENT_SERVER_CODES = new Set([6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

export const DUPLICATE_KEY = 11000;

export function isStoreUnavailable(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoOperationTimeoutError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoClientClosedError ||
    error instanceof MongoServerClosedError
  ) {
    return true;
  }
  if (error instanceof MongoServerError && typeof error.code === 'number' && TRANSIENT_SERVER_CODES.has(error.code)) return true;
  return error instanceof MongoError && (error.hasErrorLabel('ResetPool') || error.hasErrorLabel('RetryableWriteError'));
}

/** Runs a driver call, turning "cannot reach the store" into StoreUnavailableError and passing anything else on. */
export async function translateDriverErrors<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isStoreUnavailable(error)) {
      throw new StoreUnavailableError(`MongoDB did not answer ${operation}: ${(error as Error).name}`, { cause: error });
    }
    throw error;
  }
}
