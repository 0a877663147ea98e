// The process: read config (exit 1 with one line per problem), assemble, start, and stop on SIGTERM/SIGINT.
// The service's modules are loaded once the configuration is accepted: a refused start loads only what reads it.
import { ConfigError, loadConfig, type Config } from './config';
import { LOGGER, errorFields, type Logger } from '../application/logger.port';

export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`);
    process.exit(1);
  }

  const { buildContainer } = require('./container') as typeof import('./container');
  const { Service } = require('./service') as typeof import('./service');
  const container = buildContainer(config);
  const logger = container.get<Logger>(LOGGER);
  const service = container.get(Service);

  // A bug nobody caught leaves the process in an unknown state: log it, stop gracefully (requests in
  // flight finish, the store closes), and exit 1 so the orchestrator starts a clean one.
  const crash =
    (kind: string) =>
    (error: unknown): void => {
      logger.error(kind, errorFields(error));
      process.exitCode = 1;
      service.stop(kind).finally(() => process.exit(1));
    };
  process.on('unhandledRejection', crash('unhandled promise rejection'));
  process.on('uncaughtException', crash('uncaught exception'));

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn('second signal: exiting without waiting', { signal });
      process.exit(1);
    }
    service.stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', errorFields(error));
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await service.start();
  } catch (error) {
    logger.error('could not start', errorFields(error));
    process.exit(1);
  }
  service.whenInitialized().catch((error: unknown) => {
    // One line that says why, then exit 1: the orchestrator shows it, and no retry would mend it.
    logger.error('refusing to start', { reason: (error as Error).message });
    service.stop('refused').finally(() => process.exit(1));
  });
}
