// The encryption life cycle's command: seal every plaintext credential, and re-seal every value sealed
// under an older key or format, under the current key. Each value is swapped only if it is still what
// was read (compare-and-set), so the command is safe beside a running service, idempotent, and resumable.
import type { StoredIntegration } from '../../domain/integration.entity';
import { CREDENTIAL_KEYS } from '../../domain/integration-rules';
import {
  type CredentialCipher,
  MissingKeyError,
  TamperedCredentialError,
  parseSealed,
  placeOf,
} from './credential-cipher';

/** What the resealer needs of a store: the raw records, and a conditional swap of one setting. */
export interface CredentialStore {
  /** Every stored record as it is kept, one at a time (a cursor: however many there are, memory stays flat). */
  eachStoredRecord(): AsyncIterable<StoredIntegration>;
  /** Sets settings[key] of record `id` to `to` only while it is `from`; answers whether it did. */
  swapSetting(id: string, key: string, from: string, to: string): Promise<boolean>;
}

export interface ResealReport {
  resealed: string[];
  unchanged: number;
  /** Changed by someone else between the read and the swap: run the command again. */
  raced: string[];
  /** Values that could not be opened (a key this process lacks, altered): each place, and why. */
  unopened: string[];
}

/** The credential settings of a stored record that hold a string, with their names. */
function credentialsOf(record: StoredIntegration): [key: string, value: string][] {
  const settings = record.settings;
  if (!settings) return [];
  return CREDENTIAL_KEYS.flatMap((key) => {
    const value = Object.hasOwn(settings, key) ? settings[key] : undefined;
    return typeof value === 'string' ? [[key, value] as [string, string]] : [];
  });
}

export async function resealCredentials(
  store: CredentialStore,
  cipher: CredentialCipher,
  log: (place: string, what: string) => void = () => {},
): Promise<ResealReport> {
  if (!cipher.sealing) throw new Error('ENCRYPTION_KEY is not set: there is no key to seal with');
  const report: ResealReport = { resealed: [], unchanged: 0, raced: [], unopened: [] };
  for await (const record of store.eachStoredRecord()) {
    for (const [key, value] of credentialsOf(record)) {
      if (!cipher.needsResealing(value)) {
        if (value !== '') report.unchanged += 1;
        continue;
      }
      const place = placeOf(record.id, key);
      const plain = openOrReport(cipher, value, place, report.unopened);
      if (plain === undefined) continue; // named in the report; the other values are still resealed
      if (await store.swapSetting(record.id, key, value, cipher.seal(plain, place))) {
        report.resealed.push(place);
        log(place, parseSealed(value) ? 're-sealed under the current key' : 'sealed');
      } else {
        report.raced.push(place);
      }
    }
  }
  return report;
}

/**
 * Every stored credential this process cannot open, as one line naming each record and field and why; null
 * when all open. Each sealed value is opened with its binding (its record and field), so a value sealed with a
 * key this process lacks, altered, or moved to another record or field is named. The service refuses to start
 * on such a line rather than answer 503s for a record, or hand out ciphertext.
 */
export async function unreadableCredentials(
  records: Iterable<StoredIntegration> | AsyncIterable<StoredIntegration>,
  cipher: CredentialCipher,
): Promise<string | null> {
  const problems: string[] = [];
  const missingKeys = new Set<string>();
  for await (const record of records) {
    for (const [key, value] of credentialsOf(record)) {
      const sealed = parseSealed(value);
      if (!sealed) continue;
      const place = placeOf(record.id, key);
      try {
        cipher.open(value, place);
      } catch (error) {
        if (error instanceof MissingKeyError) {
          missingKeys.add(error.keyId);
          problems.push(`${place} is sealed with key ${error.keyId}, which this process was not given`);
        } else if (error instanceof TamperedCredentialError) {
          problems.push(`${place} does not open: it was altered, or moved there from another record or field`);
        } else {
          throw error;
        }
      }
    }
  }
  if (problems.length === 0) return null;
  const what =
    missingKeys.size === 0
      ? 'write those credentials again (PATCH the record with the values from Facebook)'
      : cipher.sealing
        ? 'add the key that sealed them to ENCRYPTION_KEY_PREVIOUS (or ENCRYPTION_KEY_NEXT), then run npm run reseal'
        : 'set ENCRYPTION_KEY (and ENCRYPTION_KEY_PREVIOUS) to the keys that sealed them';
  return `stored credentials cannot be opened: ${problems.join('; ')}: ${what}`;
}

/** The plaintext of a sealed value; undefined, with the place and the reason added to `unopened`, when it cannot be
 * opened. */
function openOrReport(cipher: CredentialCipher, value: string, place: string, unopened: string[]): string | undefined {
  try {
    return cipher.open(value, place);
  } catch (error) {
    if (!(error instanceof MissingKeyError || error instanceof TamperedCredentialError)) throw error;
    unopened.push(`${place}: ${error.message}`);
    return undefined;
  }
}
