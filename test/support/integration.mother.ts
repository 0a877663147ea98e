// Test data builders ("object mothers") for integrations.
import { DEFAULT_INTEGRATIONS } from '../../src/domain/default-integrations';
import {
  Integration,
  type IntegrationChanges,
  type NewIntegration,
  type StoredIntegration,
} from '../../src/domain/integration.entity';

export const T0 = new Date('2026-01-01T00:00:00.000Z');
export const T1 = new Date('2026-01-02T00:00:00.000Z');

export function anIntegration(overrides: Partial<NewIntegration> = {}, at: Date = T0): Integration {
  return Integration.create(
    {
      id: 'custom',
      name: 'Custom channel',
      description: 'A channel of our own',
      status: false,
      settings: { url: 'https://example.com' },
      ...overrides,
    },
    at,
  );
}

export function theDefaults(at: Date = T0): Integration[] {
  return DEFAULT_INTEGRATIONS.map((props) => Integration.create(props, at));
}

export const facebookSettings = (overrides: Record<string, string> = {}) => ({
  verify: 'verify-token-123',
  secret: 'app-secret-abc',
  page_access_token: 'EAAB-page-token-xyz',
  ...overrides,
});

/** An edit as the use case makes it: read the record, let the entity apply the changes, store it in place. */
export async function edit(
  repository: { findById(id: string): Promise<Integration | null>; replace(next: Integration): Promise<void> },
  id: string,
  changes: IntegrationChanges,
  now: Date = T1,
): Promise<Integration> {
  const current = await repository.findById(id);
  if (!current) throw new Error(`no ${id} to edit`);
  const next = current.change(changes, now);
  await repository.replace(next);
  return next;
}

/** Every record a store keeps, as it keeps them. */
export async function storedRecords(store: {
  eachStoredRecord(): AsyncIterable<StoredIntegration>;
}): Promise<StoredIntegration[]> {
  const records: StoredIntegration[] = [];
  for await (const record of store.eachStoredRecord()) records.push(record);
  return records;
}
