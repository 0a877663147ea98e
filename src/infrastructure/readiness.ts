// Readiness: not ready while starting, once start-up was refused, once shutdown began, and when the store
// has not answered a ping for longer than a primary election takes. The store is pinged in the background
// every few seconds, never once per /readyz call, so probes (or anyone) cannot multiply the store's load;
// a blip shorter than the tolerance does not take every replica out of the load balancer at once.
//
// The cache's change feed is reported too: while it is down this replica stays ready and its copies expire by
// CACHE_TTL_MS, so another replica's write shows a little later; the check says why the feed is down.
//
// A stored record this replica cannot open (a credential sealed with a key it lacks, or altered) is named in the
// report. A missing key takes this replica out of the load balancer (another replica may have the key, and one
// is told in the log line what to set); an altered value leaves it in (every replica fails alike, and the API is
// how an admin writes the credential again).
import { inject, injectable, optional } from 'inversify';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from '../application/integration-repository.port';
import type { ReadinessReport } from '../adapters/http/app';
import { MissingKeyError } from '../adapters/persistence/credential-cipher';
import type { ReadabilityObserver, UnreadableCredentialError } from '../adapters/persistence/record-codec';
import type { Store } from '../adapters/persistence/store';
import { STORE } from './tokens';

export const READINESS_OPTIONS = Symbol.for('ReadinessOptions');

export interface ReadinessOptions {
  pingIntervalMs?: number;
  /** How long the store may go unanswered before this replica says it is not ready (an election takes ~12 s). */
  toleranceMs?: number;
  now?: () => number;
}

/** The stored records this replica could not open on their last read, and why; the codec tells it. */
@injectable()
export class UnreadableRecords implements ReadabilityObserver {
  private readonly records = new Map<string, { reason: string; missingKey: boolean }>();

  unreadable(id: string, error: UnreadableCredentialError): void {
    this.records.set(id, { reason: error.message, missingKey: error.cause instanceof MissingKeyError });
  }

  readable(id: string): void {
    this.records.delete(id);
  }

  /** The ids of the records that could not be opened on their last read. */
  ids(): string[] {
    return [...this.records.keys()].sort();
  }

  /** Ready unless a key is missing; the check names every record that cannot be read. */
  check(): { ready: boolean; check?: string } {
    if (this.records.size === 0) return { ready: true };
    const entries = [...this.records.values()];
    return {
      ready: !entries.some((entry) => entry.missingKey),
      check: `cannot be read: ${entries.map((entry) => entry.reason).join('; ')}`,
    };
  }
}

@injectable()
export class Readiness {
  private initialized = false;
  private draining = false;
  private refusal?: string;
  private lastOkAt = 0;
  private lastFailure?: { at: number; message: string };
  private timer?: NodeJS.Timeout;
  private readonly pingIntervalMs: number;
  private readonly toleranceMs: number;
  private readonly now: () => number;

  constructor(
    @inject(INTEGRATION_REPOSITORY) private readonly repository: IntegrationRepository,
    @inject(UnreadableRecords) private readonly unreadable: UnreadableRecords,
    @inject(STORE) private readonly store: Pick<Store, 'feed'>,
    @inject(READINESS_OPTIONS) @optional() {
      pingIntervalMs = 2_000,
      toleranceMs = 20_000,
      now = () => performance.now(),
    }: ReadinessOptions = {},
  ) {
    this.pingIntervalMs = pingIntervalMs;
    this.toleranceMs = toleranceMs;
    this.now = now;
  }

  /** The store answered and the defaults are in place: ready, and from now on pinged in the background. */
  markInitialized(): void {
    this.initialized = true;
    this.lastOkAt = this.now();
    this.timer ??= setInterval(() => void this.ping(), this.pingIntervalMs).unref();
  }

  markRefused(reason: string): void {
    this.refusal = reason;
  }

  markDraining(): void {
    this.draining = true;
    clearInterval(this.timer);
  }

  isDraining(): boolean {
    return this.draining;
  }

  /** One ping now; the background timer calls it, and so can a test. */
  async ping(): Promise<void> {
    try {
      await this.repository.ping();
      this.lastOkAt = this.now();
      this.lastFailure = undefined;
    } catch (error) {
      this.lastFailure = { at: this.now(), message: (error as Error).message };
    }
  }

  report(): ReadinessReport {
    if (this.draining) return { ready: false, checks: { shutdown: 'draining' } };
    if (this.refusal) return { ready: false, checks: { store: 'refused', reason: this.refusal } };
    if (!this.initialized) return { ready: false, checks: { store: 'connecting', defaults: 'pending' } };
    const records = this.unreadable.check();
    const silentForMs = this.now() - this.lastOkAt;
    const since = `${Math.round(silentForMs / 1000)} s`;
    const store = !this.lastFailure
      ? 'ok'
      : silentForMs <= this.toleranceMs
        ? `degraded: no answer for ${since}`
        : `unreachable for ${since}`;
    const storeReady = !this.lastFailure || silentForMs <= this.toleranceMs;
    const feed = this.store.feed.health?.();
    // A cache without its change feed still serves (copies expire by CACHE_TTL_MS): degraded, never not ready.
    const cache =
      feed && (feed.live ? 'live' : `degraded: ${feed.detail ?? 'no change feed'}; copies expire by CACHE_TTL_MS`);
    return {
      ready: storeReady && records.ready,
      checks: {
        store,
        defaults: 'ensured',
        ...(cache ? { cache } : {}),
        ...(records.check ? { records: records.check } : {}),
      },
    };
  }
}
