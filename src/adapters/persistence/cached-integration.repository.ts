// The one read cache, in front of the store: it answers the bot runtime's hot read from memory, and keeps the
// last copy of each answer for stale-if-error.
//
// Fresh: a copy read while the store's change feed was live is kept until the feed tells of a change to it
// (another replica's write, the old Python store's); while the feed is down, a copy is fresh for `ttlMs` from
// when its read was sent. This replica's own acknowledged writes are never followed by an older answer: each
// id keeps the highest version this replica saw acknowledged (its floor), and no copy below it is ever taken,
// whether from a write's acknowledgement (two writes' replies may arrive in either order) or from a read; the
// list's copy goes on every write, and a read under way across a write or a change never fills the cache.
//
// Stale-if-error: when the store does not answer, the error carries the copy (StoreUnavailableError.lastKnown)
// if it is at most `staleIfErrorMs` old; the use case decides whether to serve it. A change told by the feed
// removes the copy too, so a replica never serves a copy older than a change it heard of (another replica
// disabling an integration, rotating a leaked token).
//
// Bounded: at most `maxEntries` keys (unknown ids included), the least recently used go first.
import { LRUCache } from 'lru-cache';
import { StoreUnavailableError, UnreadableRecordError } from '../../domain/errors';
import type { Integration } from '../../domain/integration.entity';
import type {
  InsertMissingResult,
  IntegrationRepository,
  ReadOptions,
} from '../../application/integration-repository.port';
import { NO_CHANGE_FEED, type ChangeFeed, type ChangeListener } from './change-feed';

type Cached = Integration | null | Integration[];

interface Entry {
  value: Cached;
  /** When the value was last known to be what the store holds (monotonic ms). */
  confirmedAt: number;
  /** Read while the feed was live (in `epoch`): current until the feed tells of a change. */
  trusted: boolean;
}

const LIST_KEY = '\u0000list';
const keyOf = (id: string): string => `id:${id}`;
const monotonicMs = (): number => performance.now();

export interface CacheOptions {
  /** How long a copy is fresh while the change feed is down; 0: never (every read goes to the store). */
  ttlMs: number;
  /** How old a copy may be and still be offered while the store does not answer; 0: never. */
  staleIfErrorMs?: number;
  maxEntries?: number;
  /** The store's change feed; without one, copies expire by ttlMs only. */
  feed?: ChangeFeed;
  /** Milliseconds on a clock that never goes back; tests move it by hand. */
  now?: () => number;
}

export class CachedIntegrationRepository implements IntegrationRepository, ChangeListener {
  private readonly entries: LRUCache<string, Entry>;
  // id → the highest version of it acknowledged to this replica. Only records that exist have one (a write
  // of an unknown id is refused), so it grows with the store, not with what clients ask for.
  private readonly floors = new Map<string, number>();
  private readonly inflight = new Map<string, { generation: number; promise: Promise<Cached> }>();
  private readonly ttlMs: number;
  private readonly staleIfErrorMs: number;
  private readonly now: () => number;
  // Moves on every change and every write: a read that began in an older generation never fills the cache.
  private generation = 0;
  private feedLive = false;
  readonly stop: () => void;

  constructor(
    private readonly inner: IntegrationRepository,
    { ttlMs, staleIfErrorMs = 0, maxEntries = 1_000, feed = NO_CHANGE_FEED, now = monotonicMs }: CacheOptions,
  ) {
    this.ttlMs = ttlMs;
    this.staleIfErrorMs = staleIfErrorMs;
    this.now = now;
    this.entries = new LRUCache({ max: maxEntries });
    this.stop = feed.subscribe(this);
  }

  get size(): number {
    return this.entries.size;
  }

  list(): Promise<Integration[]> {
    return this.read(LIST_KEY, () => this.inner.list(), false) as Promise<Integration[]>;
  }

  findById(id: string, options?: ReadOptions): Promise<Integration | null> {
    return this.read(
      keyOf(id),
      () => this.inner.findById(id, options),
      options?.fresh === true,
    ) as Promise<Integration | null>;
  }

  /** The copy findById would serve from memory now, if it would: the bot runtime's read answered without a promise. */
  held(id: string): Integration | null | undefined {
    return this.current(keyOf(id)) as Integration | null | undefined;
  }

  async replace(next: Integration): Promise<void> {
    const key = keyOf(next.id);
    try {
      await this.inner.replace(next);
    } catch (error) {
      // A conflict means the copy may be the old one; a write that timed out may have been applied.
      this.forget(key);
      throw error;
    }
    // Acknowledged: no answer from here on is older. A newer write's reply may have come first: then `next`
    // is below the floor and is not kept. Fresh for the TTL only: a change told meanwhile wins.
    this.floors.set(next.id, Math.max(next.version, this.floors.get(next.id) ?? 0));
    this.forget(key);
    this.hold(key, next, this.now(), false);
  }

  async insertMissing(integrations: readonly Integration[]): Promise<InsertMissingResult> {
    try {
      return await this.inner.insertMissing(integrations);
    } finally {
      for (const integration of integrations) this.forget(keyOf(integration.id));
    }
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  changed(id?: string): void {
    if (id === undefined) {
      this.generation += 1;
      this.entries.clear();
      this.inflight.clear();
    } else {
      this.forget(keyOf(id));
    }
  }

  live(): void {
    this.feedLive = true;
  }

  lost(): void {
    // What was trusted was current until now; from here on it expires by the TTL.
    this.generation += 1;
    this.feedLive = false;
    const now = this.now();
    for (const entry of this.entries.values()) {
      if (entry.trusted) {
        entry.trusted = false;
        entry.confirmedAt = now;
      }
    }
  }

  /** A change to `key`: its copy (and the list's) goes, and reads under way do not put them back. */
  private forget(key: string): void {
    this.generation += 1;
    this.entries.delete(key);
    this.entries.delete(LIST_KEY);
    this.inflight.delete(key);
    this.inflight.delete(LIST_KEY);
  }

  /** Keeps `value` as the copy of `key`, unless it holds a record older than one acknowledged here. */
  private hold(key: string, value: Cached, confirmedAt: number, trusted: boolean): void {
    const records = Array.isArray(value) ? value : value ? [value] : [];
    if (records.some((record) => record.version < (this.floors.get(record.id) ?? 0))) return;
    this.entries.set(key, { value, confirmedAt, trusted });
  }

  private isFresh(entry: Entry): boolean {
    if (this.ttlMs === 0) return false;
    return (entry.trusted && this.feedLive) || this.now() - entry.confirmedAt <= this.ttlMs;
  }

  /** The value of a fresh copy of `key`; undefined when there is none. */
  private current(key: string): Cached | undefined {
    const hit = this.entries.get(key);
    return hit && this.isFresh(hit) ? hit.value : undefined;
  }

  /** Serves a fresh copy, joins a read already under way in this generation, or reads once for all. */
  private read(key: string, load: () => Promise<Cached>, fresh: boolean): Promise<Cached> {
    if (!fresh) {
      const hit = this.current(key);
      if (hit !== undefined) return Promise.resolve(hit);
      const pending = this.inflight.get(key);
      if (pending && pending.generation === this.generation) return pending.promise;
    }
    const generation = this.generation;
    const trusted = this.feedLive;
    const sentAt = this.now();
    const promise = load().then(
      (value) => {
        if (generation === this.generation) this.hold(key, value, sentAt, trusted);
        return value;
      },
      (error: unknown) => {
        throw this.withLastKnown(key, error);
      },
    );
    if (!fresh) {
      this.inflight.set(key, { generation, promise });
      const settled = (): void => {
        if (this.inflight.get(key)?.promise === promise) this.inflight.delete(key);
      };
      promise.then(settled, settled);
    }
    return promise;
  }

  /** The store did not answer: the error carries this replica's copy, when it is recent enough to offer. */
  private withLastKnown(key: string, error: unknown): unknown {
    // A record that cannot be read here is not the store being down: no copy stands in for it.
    if (
      !(error instanceof StoreUnavailableError) ||
      error instanceof UnreadableRecordError ||
      error.lastKnown !== undefined ||
      this.staleIfErrorMs === 0
    )
      return error;
    const entry = this.entries.get(key);
    if (!entry) return error;
    const ageMs = entry.trusted && this.feedLive ? 0 : Math.max(0, this.now() - entry.confirmedAt);
    if (ageMs > this.staleIfErrorMs) return error;
    return new StoreUnavailableError(error.message, { cause: error, lastKnown: { value: entry.value, ageMs } });
  }
}
