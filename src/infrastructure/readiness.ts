// Readiness: not ready while starting, once start-up was refused, once shutdown began, and when the store
// has not answered a ping for longer than a primary election takes. The store is pinged in the background
// every few seconds, never once per /readyz call, so probes (or anyone) cannot multiply the store's load;
// a blip shorter than the tolerance does not take every replica out of the load balancer at once.
import type { IntegrationRepository } from '../application/integration-repository.port';
import type { ReadinessReport } from '../adapters/http/app';

export interface ReadinessOptions {
  pingIntervalMs?: number;
  /** How long the store may go unanswered before this replica says it is not ready (an election takes ~12 s). */
  toleranceMs?: number;
  now?: () => number;
}

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
    private readonly repository: IntegrationRepository,
    { pingIntervalMs = 2_000, toleranceMs = 20_000, now = () => performance.now() }: ReadinessOptions = {},
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
    const silentForMs = this.now() - this.lastOkAt;
    if (!this.lastFailure) return { ready: true, checks: { store: 'ok', defaults: 'ensured' } };
    const since = `${Math.round(silentForMs / 1000)} s`;
    if (silentForMs <= this.toleranceMs) return { ready: true, checks: { store: `degraded: no answer for ${since}`, defaults: 'ensured' } };
    return { ready: false, checks: { store: `unreachable for ${since}`, defaults: 'ensured' } };
  }
}
