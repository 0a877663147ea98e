// The embedded store's life: nothing to connect to; at start it checks, as MongoDB's does, that every stored
// credential opens.
import type { StoredIntegration } from '../../domain/integration.entity';
import { unreadableCredentials } from './credential-resealer';
import { InMemoryIntegrationRepository, type InMemoryRecords } from './in-memory-integration.repository';
import type { RecordCodec } from './record-codec';
import { PermanentStoreFault, type Store } from './store';

/** `seed`: records the store starts with, as if another writer (the old Python store) had left them, or shared with
 * another store. */
export function createInMemoryStore(
  codec: RecordCodec,
  seed: readonly StoredIntegration[] | InMemoryRecords = [],
): Store & { repository: InMemoryIntegrationRepository } {
  const repository = new InMemoryIntegrationRepository(seed, codec);
  return {
    kind: 'memory',
    repository,
    feed: repository,
    async prepare() {
      const unreadable = await unreadableCredentials(repository.eachStoredRecord(), codec.cipher);
      if (unreadable) throw new PermanentStoreFault(unreadable);
    },
    close: async () => {},
  };
}
