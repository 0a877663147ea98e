// AES-256-GCM for credentials at rest. A stored value names the key that sealed it, so a key can be
// rotated: the new key seals, the previous one still opens what it sealed.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1';

export class CredentialCipher {
  private readonly current: { id: string; key: Buffer };
  private readonly keys = new Map<string, Buffer>();

  /** Keys are 32 bytes each; `previous` only decrypts. */
  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== 32) throw new Error('an encryption key must be 32 bytes');
      this.keys.set(keyId(key), key);
    }
    this.current = { id: keyId(current), key: current };
  }

  static isSealed(value: string): boolean {
    return value.startsWith(`${PREFIX}:`);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [PREFIX, this.current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join(':');
  }

  /** Opens a sealed value; a value stored before encryption was turned on is returned as it is. */
  open(value: string): string {
    if (!CredentialCipher.isSealed(value)) return value;
    const [, , id, iv, tag, body] = value.split(':');
    const key = this.keys.get(id);
    if (!key) throw new Error(`a credential is sealed with key ${id}, which is neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}
