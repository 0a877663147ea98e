// The service's life: listen at once (so /healthz and /readyz answer), bring the store up with backoff,
// ensure the defaults, then report ready; on stop, drain in-flight requests and close the store.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject, injectable } from 'inversify';
import type { HttpApp } from '../adapters/http/app';
import type { AuditEntry } from '../adapters/http/integrations.routes';
import { PermanentStoreFault, type Store } from '../adapters/persistence/store';
import { EnsureDefaultIntegrations } from '../application/ensure-default-integrations.use-case';
import { LOGGER, errorFields, type Logger } from '../application/logger.port';
import { describeConfig, type Config } from './config';
import { Readiness } from './readiness';
import { CONFIG, HTTP_APP, METRICS, STORE } from './tokens';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

/** How the HTTP server treats slow and numerous clients. */
export interface ServerLimits {
  /** The whole request (headers and body) must arrive within this, as nginx's and ALB's ~60 s; else 408. */
  requestTimeoutMs: number;
  /** The headers must arrive within this. */
  headersTimeoutMs: number;
  /** Longer than a load balancer's idle timeout, so it, not we, closes idle keep-alive connections. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are closed at once: a flood of idle sockets cannot exhaust the process. */
  maxConnections: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 20_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 2_048,
};

export const SERVER_LIMITS = Symbol.for('ServerLimits');

/** Connections the probe port keeps at once: the kubelet's and a scraper's need a few. */
const PROBE_MAX_CONNECTIONS = 64;

/** How often, at most, a log line says connections were refused for being past the limit (the metric counts each). */
const DROP_WARNING_INTERVAL_MS = 10_000;

/** The service's two ports, by the name logs and metric labels give them. */
export const SERVER_PORTS = ['api', 'probe'] as const;
export type ServerPort = (typeof SERVER_PORTS)[number];

/** Told of each connection a server closed at once because it had as many open as it keeps (Node's `drop`). */
export interface ConnectionObserver {
  connectionDropped(port: ServerPort): void;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A fault at start that no retry mends: the service says why in one line and exits 1, instead of retrying forever. */
export class StartupRefusal extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'StartupRefusal';
  }
}

@injectable()
export class Service {
  private readonly server: Server;
  /** The probe port's server (PROBE_PORT), when configured: its own accept queue, which API connections never fill. */
  private readonly probeServer?: Server;
  private readonly stopping = new AbortController();
  private initialization: Promise<void> = Promise.resolve();
  private stopped?: Promise<void>;
  private refusedSinceWarning = 0;
  private lastRefusalWarning = Number.NEGATIVE_INFINITY;

  constructor(
    @inject(CONFIG) private readonly config: Config,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(Readiness) private readonly readiness: Readiness,
    @inject(STORE) private readonly store: Store,
    @inject(EnsureDefaultIntegrations) private readonly ensureDefaults: EnsureDefaultIntegrations,
    @inject(HTTP_APP) http: HttpApp,
    @inject(SERVER_LIMITS) limits: Partial<ServerLimits>,
    @inject(METRICS) private readonly connections: ConnectionObserver,
  ) {
    const { requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs, maxConnections } = {
      ...DEFAULT_SERVER_LIMITS,
      ...limits,
    };
    const options = {
      requestTimeout: requestTimeoutMs,
      headersTimeout: headersTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      // How often Node checks the two timeouts above (its default, 30 s, would let them overrun by that much).
      connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs, headersTimeoutMs),
      ...http.serverClasses,
    };
    // Both ports answer what Node would refuse on its own as the service answers any refusal (docs/design.md).
    const serve = (listener: RequestListener, port: ServerPort, limit: number): Server => {
      const server = createServer(options, listener);
      server.on('clientError', http.onClientError);
      server.on('connect', http.onConnect);
      server.on('checkExpectation', http.unmetExpectation);
      server.maxConnections = limit;
      // Node closes a connection past the limit without a word: the operator hears of it.
      server.on('drop', () => this.refused(port, limit));
      return server;
    };
    this.server = serve(http.listener, 'api', maxConnections);
    // Node accepts one connection per event-loop turn from each listener: probes on a port of their own are not
    // queued behind every API connection waiting to be accepted (docs/design.md, "The probe port").
    if (config.probePort !== undefined) this.probeServer = serve(http.probes, 'probe', PROBE_MAX_CONNECTIONS);
  }

  /** A connection closed at once for being past the limit: counted, and said in a line at most every so often. */
  private refused(port: ServerPort, maxConnections: number): void {
    this.connections.connectionDropped(port);
    this.refusedSinceWarning += 1;
    const now = performance.now();
    if (now - this.lastRefusalWarning < DROP_WARNING_INTERVAL_MS) return;
    this.logger.warn('connections refused: the server already has as many open as it keeps', {
      port,
      maxConnections,
      refused: this.refusedSinceWarning,
    });
    this.refusedSinceWarning = 0;
    this.lastRefusalWarning = now;
  }

  /** Listens, and starts bringing the store up in the background; resolves with the bound address. */
  async start(): Promise<AddressInfo> {
    this.logger.info('starting', describeConfig(this.config));
    await listen(this.server, this.config.port, this.config.host);
    if (this.probeServer && this.config.probePort !== undefined)
      await listen(this.probeServer, this.config.probePort, this.config.host);
    const address = this.server.address() as AddressInfo;
    this.logger.info('listening', {
      host: address.address,
      port: address.port,
      probePort: this.probeAddress()?.port,
      store: this.store.kind,
    });
    this.initialization = this.initialize();
    // Handled here so a refusal is never an unhandled rejection; callers of whenInitialized() still see it.
    this.initialization.catch(() => undefined);
    return address;
  }

  /** Where the probe port listens, once started; undefined without PROBE_PORT. */
  probeAddress(): AddressInfo | undefined {
    return (this.probeServer?.address() as AddressInfo | null) ?? undefined;
  }

  /**
   * Resolves once the store is up and the defaults ensured (or stop() was called first); rejects with
   * StartupRefusal on a fault no retry mends.
   */
  whenInitialized(): Promise<void> {
    return this.initialization;
  }

  private async initialize(): Promise<void> {
    let delay = FIRST_RETRY_MS;
    for (let attempt = 1; !this.stopping.signal.aborted; attempt += 1) {
      try {
        await this.store.prepare();
        const { created, existing } = await this.ensureDefaults.execute();
        for (const integration of created) {
          const entry: AuditEntry = {
            integration: integration.id,
            versionBefore: 0,
            versionAfter: integration.version,
            changed: Object.keys(integration.fields()),
            actor: 'integrations-service (defaults at start)',
            tokenLabel: 'none',
            clientAddress: 'local',
            requestId: 'start',
          };
          this.logger.info('audit', { ...entry });
        }
        this.readiness.markInitialized();
        this.logger.info('ready', { defaults: { created: created.map((integration) => integration.id), existing } });
        return;
      } catch (error) {
        if (error instanceof PermanentStoreFault) {
          this.readiness.markRefused(error.message);
          throw new StartupRefusal(error.message, { cause: error });
        }
        this.logger.warn('store not ready; retrying', {
          attempt,
          retryInMs: delay,
          ...errorFields(error, { stack: false }),
        });
        try {
          await sleep(delay, undefined, { signal: this.stopping.signal });
        } catch {
          return; // stop() was called while waiting
        }
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
  }

  /**
   * Not ready at once; stop accepting; let requests in flight finish within SHUTDOWN_GRACE_MS, then cut
   * what is left; close the store. Safe to call more than once.
   */
  stop(reason: string): Promise<void> {
    this.stopped ??= this.shutdown(reason);
    return this.stopped;
  }

  private async shutdown(reason: string): Promise<void> {
    const grace = this.config.shutdownGraceMs;
    this.readiness.markDraining();
    this.stopping.abort();

    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Said once it is so: new connections are refused from here on.
    this.logger.info('stopping', { reason, graceMs: grace });
    // Idle keep-alive connections hold no request: close them now and as others become idle.
    this.server.closeIdleConnections();
    const reaper = setInterval(() => this.server.closeIdleConnections(), 100);
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      this.server.closeAllConnections();
    }, grace);
    await closed;
    clearInterval(reaper);
    clearTimeout(deadline);
    // Probes are answered (readiness: draining) until the API's last request is over.
    const probes = this.probeServer;
    if (probes) {
      const probesClosed = new Promise<void>((resolve) => probes.close(() => resolve()));
      probes.closeAllConnections();
      await probesClosed;
    }
    if (timedOut) this.logger.warn('grace period over: cut the requests still in flight', { graceMs: grace });

    await this.initialization.catch(() => undefined);
    try {
      await this.store.close();
    } catch (error) {
      this.logger.warn('store did not close cleanly', errorFields(error, { stack: false }));
    }
    this.logger.info('stopped', { reason });
  }
}
