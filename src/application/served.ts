// What a read answers: the value, and when it is a copy kept from an earlier answer because the store did
// not answer (stale-if-error), how old that copy is.
import { StoreUnavailableError } from '../domain/errors';

export interface Served<T> {
  value: T;
  /** Set when the value is a copy kept from an earlier read, because the store did not answer: its age. */
  staleForMs?: number;
}

/** Runs a read; when the store is unavailable and the error carries an acceptable copy, answers that copy. */
export async function servedOrLastKnown<T>(
  read: () => Promise<T>,
  acceptable: (copy: T) => boolean = () => true,
): Promise<Served<T>> {
  try {
    return { value: await read() };
  } catch (error) {
    const copy = error instanceof StoreUnavailableError ? error.lastKnown : undefined;
    if (copy !== undefined && acceptable(copy.value as T)) return { value: copy.value as T, staleForMs: copy.ageMs };
    throw error;
  }
}
