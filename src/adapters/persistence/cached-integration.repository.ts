// A read cache in front of a shared store, for the bot runtime's hot read of `facebook`.
// Another replica's write may look stale here for at most `ttlMs`; this replica's own acknowledged
// writes never do: every write empties the cache before it is answered, and a read that was under
// way across a write never fills it.
import { Integration, type IntegrationChanges, type IntegrationPrimitives } from '../../domain/integration.entity';
import type { InsertMissingResult, IntegrationRepository, UpdateOptions } from '../../application/integration-repository.port';

// Kept as primitives and rebuilt on every hit, so no caller can change what another one is served.
type Cached = IntegrationPrimitives | null | IntegrationPrimitives[];

export class CachedIntegrationRepository implements IntegrationRepository {
  private readonly entries = new Map<string, { value: Cached; expiresAt: number }>();
  private readonly inflight = new Map<string, { generation: number; promise: Promise<Cached> }>();
  private generation = 0;

  constructor(
    private readonly inner: IntegrationRepository,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<Integration[]> {
    const all = (await this.read('list', async () => (await this.inner.list()).map((i) => i.toPrimitives()))) as IntegrationPrimitives[];
    return all.map((p) => Integration.fromPrimitives(p));
  }

  async findById(id: string): Promise<Integration | null> {
    const found = (await this.read(`id:${id}`, async () => (await this.inner.findById(id))?.toPrimitives() ?? null)) as IntegrationPrimitives | null;
    return found && Integration.fromPrimitives(found);
  }

  update(id: string, changes: IntegrationChanges, options: UpdateOptions): Promise<Integration> {
    return this.write(() => this.inner.update(id, changes, options));
  }

  insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    return this.write(() => this.inner.insertMissing(integrations));
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  /** Whatever the outcome (a conflict means our copy may be old), the cache is emptied before answering. */
  private async write<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      this.invalidate();
    }
  }

  private invalidate(): void {
    this.generation += 1;
    this.entries.clear();
    this.inflight.clear();
  }

  /** Serves a fresh entry, joins a read already under way since the last write, or reads once for all. */
  private read(key: string, load: () => Promise<Cached>): Promise<Cached> {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > this.now()) return Promise.resolve(hit.value);
    const pending = this.inflight.get(key);
    if (pending && pending.generation === this.generation) return pending.promise;

    const generation = this.generation;
    const promise = load().then(
      (value) => {
        if (generation === this.generation) this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
        return value;
      },
    ).finally(() => {
      if (this.inflight.get(key)?.promise === promise) this.inflight.delete(key);
    });
    this.inflight.set(key, { generation, promise });
    return promise;
  }
}
