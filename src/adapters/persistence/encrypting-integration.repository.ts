// Seals credential settings (CREDENTIAL_KEYS) before they reach the store and opens them on the way back.
// Always in the stack: without a key nothing is sealed, and a sealed value is never handed out as a token.
import type { Integration } from '../../domain/integration.entity';
import { CREDENTIAL_KEYS, type Settings } from '../../domain/integration-rules';
import type { InsertMissingResult, IntegrationRepository } from '../../application/integration-repository.port';
import { CredentialCipher, parseSealed, placeOf } from './credential-cipher';

export class EncryptingIntegrationRepository implements IntegrationRepository {
  // A stored entity never changes: it is opened once, and the opened one is shared by every read of it.
  private readonly opened = new WeakMap<Integration, Integration>();

  constructor(
    private readonly inner: IntegrationRepository,
    private readonly cipher: CredentialCipher,
  ) {}

  async list(): Promise<Integration[]> {
    return (await this.inner.list()).map((integration) => this.open(integration));
  }

  async findById(id: string): Promise<Integration | null> {
    const found = await this.inner.findById(id);
    return found && this.open(found);
  }

  replace(next: Integration): Promise<void> {
    return this.inner.replace(this.seal(next));
  }

  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    return this.inner.insertMissing(integrations.map((integration) => this.seal(integration)));
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  private seal(integration: Integration): Integration {
    if (!this.cipher.sealing) return integration;
    return integration.withStoredSettings(mapCredentials(integration.settings, (value, key) => this.cipher.seal(value, placeOf(integration.id, key))));
  }

  private open(stored: Integration): Integration {
    let opened = this.opened.get(stored);
    if (!opened) {
      const anySealed = CREDENTIAL_KEYS.some((key) => typeof stored.settings[key] === 'string' && parseSealed(stored.settings[key] as string));
      opened = anySealed
        ? stored.withStoredSettings(mapCredentials(stored.settings, (value, key) => this.cipher.open(value, placeOf(stored.id, key))))
        : stored;
      this.opened.set(stored, opened);
    }
    return opened;
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
