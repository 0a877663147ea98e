// Between the entity and what a store keeps: credentials (CREDENTIAL_KEYS) sealed on the way in and opened on
// the way out, and every stored record read through the entity's door (Integration.fromStored: the legacy
// fitting, then every rule). Both stores use it, so encryption works on stored records, not on entities.
import { LRUCache } from 'lru-cache';
import { UnreadableRecordError } from '../../domain/errors';
import { Integration, type IntegrationRecord, type StoredIntegration } from '../../domain/integration.entity';
import { CREDENTIAL_KEYS, isPlainObject, type Settings } from '../../domain/integration-rules';
import {
  type CredentialCipher,
  MissingKeyError,
  TamperedCredentialError,
  parseSealed,
  placeOf,
} from './credential-cipher';

/**
 * A stored credential this process cannot open: sealed with a key it was not given, or altered or moved. The
 * record cannot be served (a 503, never the ciphertext); `place` says which (`facebook/secret`).
 */
export class UnreadableCredentialError extends UnreadableRecordError {
  constructor(
    readonly place: string,
    readonly reason: string,
    readablePart?: Integration,
    options?: { cause?: unknown },
  ) {
    super(`the stored credential ${place} cannot be opened: ${reason}`, readablePart, options);
    this.name = 'UnreadableCredentialError';
  }
}

/** Told when a stored record cannot be read (readiness says why) and when one can again. */
export interface ReadabilityObserver {
  unreadable(id: string, error: UnreadableCredentialError): void;
  readable(id: string): void;
}

export class RecordCodec {
  // A stored record that is a frozen object (the in-memory store's) is read once; one this codec made from an
  // entity reads back as that entity (the in-memory store keeps the very object, frozen).
  private readonly entities = new WeakMap<object, Integration>();
  // A sealed value opens to the same plaintext every time: opened once (MongoDB hands out new objects per read).
  private readonly opened = new LRUCache<string, string>({ max: 1_000 });

  constructor(
    readonly cipher: CredentialCipher,
    private readonly observer?: ReadabilityObserver,
  ) {}

  /** The record a store keeps for `integration`: its credentials sealed under the current key, if any. */
  toRecord(integration: Integration): IntegrationRecord {
    // Sealed with this replica's own key: whatever it could not read before, it can read this.
    this.observer?.readable(integration.id);
    const plain = integration.toRecord();
    const record = this.cipher.sealing
      ? {
          ...plain,
          settings: mapCredentials(plain.settings, (value, key) => this.cipher.seal(value, placeOf(plain.id, key))),
        }
      : plain;
    this.entities.set(record, integration);
    return record;
  }

  /**
   * The entity a stored record holds: credentials opened, then Integration.fromStored. Throws
   * UnreadableCredentialError when a credential does not open, ValidationError for an id no record can have.
   */
  toEntity(stored: StoredIntegration, storeTime?: Date): Integration {
    const known = this.entities.get(stored);
    if (known && Object.isFrozen(stored)) return known;
    let settings: unknown;
    try {
      settings = isPlainObject(stored.settings)
        ? this.openAll(stored.id, stored.settings as Settings)
        : stored.settings;
    } catch (error) {
      if (!(error instanceof UnreadableCredentialError)) throw error;
      // What an edit that replaces the whole settings may start from: the record, what did not open left empty.
      const readable = mapCredentials(stored.settings as Settings, (value, key) =>
        parseSealed(value) ? this.openOrEmpty(stored.id, key, value) : value,
      );
      throw new UnreadableCredentialError(
        error.place,
        error.reason,
        Integration.fromStored({ ...stored, settings: readable }, storeTime),
        { cause: error.cause },
      );
    }
    const entity = Integration.fromStored(
      settings === stored.settings ? stored : { ...stored, settings: settings as Settings },
      storeTime,
    );
    if (Object.isFrozen(stored)) this.entities.set(stored, entity);
    this.observer?.readable(stored.id);
    return entity;
  }

  private openAll(id: string, settings: Settings): Settings {
    let out: Settings | undefined;
    for (const key of CREDENTIAL_KEYS) {
      const value = Object.hasOwn(settings, key) ? settings[key] : undefined;
      if (typeof value !== 'string' || parseSealed(value) === null) continue;
      out ??= { ...settings };
      out[key] = this.open(id, key, value);
    }
    return out ?? settings;
  }

  private openOrEmpty(id: string, key: string, sealed: string): string {
    try {
      return this.cipher.open(sealed, placeOf(id, key));
    } catch {
      return '';
    }
  }

  private open(id: string, key: string, sealed: string): string {
    const place = placeOf(id, key);
    const memo = `${place}\n${sealed}`;
    const known = this.opened.get(memo);
    if (known !== undefined) return known;
    try {
      const plain = this.cipher.open(sealed, place);
      this.opened.set(memo, plain);
      return plain;
    } catch (error) {
      if (!(error instanceof MissingKeyError || error instanceof TamperedCredentialError)) throw error;
      const unreadable = new UnreadableCredentialError(place, error.message, undefined, { cause: error });
      this.observer?.unreadable(id, unreadable);
      throw unreadable;
    }
  }
}

/** Empty credentials stay empty: there is nothing to hide, and the defaults stay readable in the store. */
export function mapCredentials(settings: Settings, transform: (value: string, key: string) => string): Settings {
  const out: Settings = { ...settings };
  for (const key of CREDENTIAL_KEYS) {
    const value = Object.hasOwn(out, key) ? out[key] : undefined;
    if (typeof value === 'string' && value !== '') out[key] = transform(value, key);
  }
  return out;
}

/** The entities of the records that can be read here; the others (UnreadableRecordError) are left out. */
export function readableOnly<T>(records: readonly T[], toEntity: (record: T) => Integration): Integration[] {
  return records.flatMap((record) => {
    try {
      return [toEntity(record)];
    } catch (error) {
      if (error instanceof UnreadableRecordError) return [];
      throw error;
    }
  });
}
