// Starts the real service (container, HTTP server, store start-up) on a free loopback port for a test.
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Container } from 'inversify';
import { loadConfig, type Config } from '../../src/infrastructure/config';
import { Writable } from 'node:stream';
import { buildContainer, type ContainerOverrides } from '../../src/infrastructure/container';
import { Service } from '../../src/infrastructure/service';

export interface RunningService {
  url: string;
  /** The probe port's URL, when PROBE_PORT is set. */
  probesUrl?: string;
  config: Config;
  container: Container;
  service: Service;
  /** Every log line written so far, parsed, with those of every request over so far (recorded in batches). */
  logs(): Record<string, unknown>[];
  /** Every log line written so far, as written, with those of every request over so far. */
  rawLogs(): string;
  /** The log lines the service has written by itself so far, parsed (request lines wait for their batch). */
  linesWritten(): Record<string, unknown>[];
  stop(): Promise<void>;
}

/** The environment a test service runs with, on top of which each test sets what it is about. */
export const TEST_ENV: NodeJS.ProcessEnv = {
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'debug',
  SHUTDOWN_GRACE_MS: '2000',
};

export interface StartOptions {
  waitUntilReady?: boolean;
  overrides?: Omit<ContainerOverrides, 'logStream'>;
}

/** A log stream that keeps nothing: for a container whose lines no test reads. */
export function silentStream(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

export async function startService(env: NodeJS.ProcessEnv = {}, options: StartOptions = {}): Promise<RunningService> {
  const config = loadConfig({ ...TEST_ENV, ...env });
  const stream = new PassThrough();
  let written = '';
  // Parsed as they come, once: tests look lines up many times.
  const parsed: Record<string, unknown>[] = [];
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    written += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') parsed.push(JSON.parse(line) as Record<string, unknown>);
  });
  const container = buildContainer(config, { ...options.overrides, logStream: stream });
  const service = container.get(Service);
  const address = await service.start();
  if (options.waitUntilReady !== false) await service.whenInitialized();
  return {
    url: `http://127.0.0.1:${address.port}`,
    probesUrl: service.probeAddress() && `http://127.0.0.1:${service.probeAddress()!.port}`,
    config,
    container,
    service,
    rawLogs: () => written,
    logs: () => parsed,
    linesWritten: () => parsed,
    stop: () => service.stop('test over'),
  };
}

/** A well-formed 32-byte key for tests, the same for the same seed, base64 as ENCRYPTION_KEY takes it. */
export function testKey(seed: string | number): string {
  return createHash('sha256').update(`test-key-${seed}`).digest('base64');
}
