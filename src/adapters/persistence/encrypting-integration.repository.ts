// Seals credential settings (CREDENTIAL_KEYS) before they reach the store and opens them on the way back.
import type { Integration } from '../../domain/integration.entity';
import { CREDENTIAL_KEYS, type Settings } from '../../domain/integration-rules';
import type { InsertMissingResult, IntegrationRepository } from '../../application/integration-repository.port';
import { CredentialCipher } from './credential-cipher';

export class EncryptingIntegrationRepository implements IntegrationRepository {
  constructor(
    private readonly inner: IntegrationRepository,
    private readonly cipher: CredentialCipher,
  ) {}

  async list(): Promise<Integration[]> {
    return (await this.inner.list()).map((integration) => this.opened(integration));
  }

  async findById(id: string): Promise<Integration | null> {
    const found = await this.inner.findById(id);
    return found && this.opened(found);
  }

  replace(next: Integration): Promise<void> {
    return this.inner.replace(this.withSettings(next, (v) => this.cipher.seal(v)));
  }

  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    return this.inner.insertMissing(integrations.map((integration) => this.withSettings(integration, (v) => this.cipher.seal(v))));
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  private opened(integration: Integration): Integration {
    return this.withSettings(integration, (v) => this.cipher.open(v));
  }

  private withSettings(integration: Integration, transform: (value: string) => string): Integration {
    return integration.withStoredSettings(this.mapCredentials(integration.settings, transform));
  }

  /** Empty credentials stay empty: there is nothing to hide, and the defaults stay readable in the store. */
  private mapCredentials(settings: Settings, transform: (value: string) => string): Settings {
    const out: Settings = { ...settings };
    for (const key of CREDENTIAL_KEYS) {
      const value = out[key];
      if (typeof value === 'string' && value !== '') out[key] = transform(value);
    }
    return out;
  }
}
