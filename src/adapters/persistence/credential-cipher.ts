// AES-256-GCM for credentials at rest. A sealed value names the key that sealed it, so a key can be
// rotated (the new key seals, previous ones still open), and is bound to its place: the record id and
// the settings key are authenticated data, so a value moved to another field or record does not open.
//
//   enc:v2:<key id>:<iv, 12 bytes>:<tag, 16 bytes>:<ciphertext>     (base64url parts)
//
// enc:v1 values (no binding) from earlier versions still open; `npm run reseal` rewrites them as v2.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const CURRENT_FORMAT = 'v2';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PART = /^[A-Za-z0-9_-]*$/;

export interface SealedValue {
  format: 'v1' | 'v2';
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  body: Buffer;
}

/** A sealed credential whose key this process was not given. */
export class MissingKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`a credential is sealed with key ${keyId}, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEY_PREVIOUS`);
    this.name = 'MissingKeyError';
  }
}

/** A sealed credential that does not open under its key: altered, or moved from another field or record. */
export class TamperedCredentialError extends Error {
  constructor(readonly place: string) {
    super(`the sealed credential at ${place} does not authenticate: it was altered or moved from another field`);
    this.name = 'TamperedCredentialError';
  }
}

/** Where a credential lives: the authenticated data its seal is bound to. */
export const placeOf = (integrationId: string, settingKey: string): string => `${integrationId}/${settingKey}`;

/**
 * A well-formed sealed value, or null for anything else (plaintext, including a legacy value that merely
 * starts with "enc:v1:"): only exactly-shaped values are ever treated as ciphertext.
 */
export function parseSealed(value: string): SealedValue | null {
  const parts = value.split(':');
  if (parts.length !== 6 || parts[0] !== 'enc' || (parts[1] !== 'v1' && parts[1] !== 'v2')) return null;
  const [, format, keyId, iv, tag, body] = parts;
  if (!/^[0-9a-f]{8}$/.test(keyId) || ![iv, tag, body].every((part) => PART.test(part))) return null;
  const sealed = {
    format: format as 'v1' | 'v2',
    keyId,
    iv: Buffer.from(iv, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
    body: Buffer.from(body, 'base64url'),
  };
  return sealed.iv.length === IV_BYTES && sealed.tag.length === TAG_BYTES ? sealed : null;
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export class CredentialCipher {
  private readonly current?: { id: string; key: Buffer };
  private readonly keys = new Map<string, Buffer>();

  /** Keys are 32 bytes each; `previous` only open. Without a current key nothing is sealed, and nothing sealed opens.
   * */
  constructor(current: Buffer | undefined, previous: readonly Buffer[] = []) {
    for (const key of [...(current ? [current] : []), ...previous]) {
      if (key.length !== 32) throw new Error('an encryption key must be 32 bytes');
      this.keys.set(keyId(key), key);
    }
    if (current) this.current = { id: keyId(current), key: current };
  }

  get sealing(): boolean {
    return this.current !== undefined;
  }

  canOpen(sealed: SealedValue): boolean {
    return this.keys.has(sealed.keyId);
  }

  /** Whether `value` should be rewritten: plaintext while a key is set, an old format, or another key's seal. */
  needsResealing(value: string): boolean {
    if (!this.current || value === '') return false;
    const sealed = parseSealed(value);
    return sealed === null || sealed.format !== CURRENT_FORMAT || sealed.keyId !== this.current.id;
  }

  /** Seals `plain` for `place` (see placeOf) under the current key; without one, answers it as it is. */
  seal(plain: string, place: string): string {
    if (!this.current) return plain;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(place, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      'enc',
      CURRENT_FORMAT,
      this.current.id,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      body.toString('base64url'),
    ].join(':');
  }

  /** Opens a sealed value of `place`; a value that is not one (stored before encryption was on) is answered as it is.
   * */
  open(value: string, place: string): string {
    const sealed = parseSealed(value);
    if (!sealed) return value;
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new MissingKeyError(sealed.keyId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
      if (sealed.format === 'v2') decipher.setAAD(Buffer.from(place, 'utf8'));
      decipher.setAuthTag(sealed.tag);
      return Buffer.concat([decipher.update(sealed.body), decipher.final()]).toString('utf8');
    } catch {
      throw new TamperedCredentialError(place);
    }
  }
}
