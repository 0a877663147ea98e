// A read cache in front of a shared store, for the bot runtime's hot read of `facebook`.
// Another replica's write may look stale here for at most `ttlMs`, counted on a monotonic clock from
// the moment the read was sent; this replica's own acknowledged writes never do: every write empties
// the cache before it is answered, and a read that was under way across a write never fills it.
// Bounded: at most `maxEntries` ids (unknown ones included) are kept, the least recently used go first.
import { LRUCache } from 'lru-cache';
import type { Integration } from '../../domain/integration.entity';
import type { InsertMissingResult, IntegrationRepository } from '../../application/integration-repository.port';

// Entities are frozen: the cache hands out the records it holds. `null` (no such id) is cached too.
type Cached = Integration | null | Integration[];

const LIST_KEY = '\u0000list';
const monotonicMs = (): number => performance.now();

export interface CacheOptions {
  ttlMs: number;
  maxEntries?: number;
  /** Milliseconds on a clock that never goes back; tests move it by hand. */
  now?: () => number;
}

export class CachedIntegrationRepository implements IntegrationRepository {
  private readonly entries: LRUCache<string, { value: Cached; expiresAt: number }>;
  private readonly inflight = new Map<string, { generation: number; promise: Promise<Cached> }>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private generation = 0;

  constructor(
    private readonly inner: IntegrationRepository,
    { ttlMs, maxEntries = 1_000, now = monotonicMs }: CacheOptions,
  ) {
    this.ttlMs = ttlMs;
    this.now = now;
    this.entries = new LRUCache({ max: maxEntries });
  }

  get size(): number {
    return this.entries.size;
  }

  async list(): Promise<Integration[]> {
    return (await this.read(LIST_KEY, () => this.inner.list())) as Integration[];
  }

  async findById(id: string): Promise<Integration | null> {
    return (await this.read(`id:${id}`, () => this.inner.findById(id))) as Integration | null;
  }

  replace(next: Integration): Promise<void> {
    return this.write(() => this.inner.replace(next));
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
    const sentAt = this.now();
    const promise = load()
      .then((value) => {
        if (generation === this.generation) this.entries.set(key, { value, expiresAt: sentAt + this.ttlMs });
        return value;
      })
      .finally(() => {
        if (this.inflight.get(key)?.promise === promise) this.inflight.delete(key);
      });
    this.inflight.set(key, { generation, promise });
    return promise;
  }
}
