// Readiness: not ready while starting, while the store does not answer, and once shutdown began.
import type { IntegrationRepository } from '../application/integration-repository.port';
import type { ReadinessReport } from '../adapters/http/app';

export class Readiness {
  private initialized = false;
  private draining = false;

  constructor(private readonly repository: IntegrationRepository) {}

  markInitialized(): void {
    this.initialized = true;
  }

  markDraining(): void {
    this.draining = true;
  }

  isDraining(): boolean {
    return this.draining;
  }

  async report(): Promise<ReadinessReport> {
    if (this.draining) return { ready: false, checks: { shutdown: 'draining' } };
    if (!this.initialized) return { ready: false, checks: { store: 'connecting', defaults: 'pending' } };
    try {
      await this.repository.ping();
      return { ready: true, checks: { store: 'ok', defaults: 'ensured' } };
    } catch {
      return { ready: false, checks: { store: 'unreachable', defaults: 'ensured' } };
    }
  }
}
