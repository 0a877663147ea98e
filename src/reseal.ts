// `npm run reseal` (node dist/reseal.js in the image): seals every plaintext credential in MONGODB_URI and
// re-seals every value sealed under an older key or format, under ENCRYPTION_KEY. Idempotent and resumable:
// each value is swapped only if it is still what was read, so it is safe beside running replicas; run it
// again after a failure or a race. Logs where it sealed (integration/setting), never a value.
import { CredentialCipher } from './adapters/persistence/credential-cipher';
import { resealCredentials } from './adapters/persistence/credential-resealer';
import { resealStoreWithOwnClient } from './adapters/persistence/mongo/mongo-store';
import { RecordCodec } from './adapters/persistence/record-codec';
import { errorFields } from './application/logger.port';
import { type Config, ConfigError, loadConfig } from './infrastructure/config';
import { WinstonLogger } from './infrastructure/logger';

async function reseal(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig({ ...process.env, AUTH_DISABLED: 'true', HOST: '127.0.0.1' });
    const problems = [
      ...(config.mongodbUri ? [] : ['MONGODB_URI: is required to reseal (the in-memory store keeps nothing to seal)']),
      ...(config.encryptionKey
        ? []
        : ['ENCRYPTION_KEY: is required to reseal: it is the key every credential is sealed under']),
    ];
    if (problems.length > 0) throw new ConfigError(problems);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`);
    process.exit(1);
  }
  const logger = new WinstonLogger(config.logLevel);
  let close = async (): Promise<void> => {};
  try {
    const cipher = new CredentialCipher(config.encryptionKey, [
      ...config.encryptionKeysPrevious,
      ...(config.encryptionKeyNext ? [config.encryptionKeyNext] : []),
    ]);
    const opened = await resealStoreWithOwnClient(
      config.mongodbUri!,
      config.mongodbDb,
      new RecordCodec(cipher),
      Math.max(config.storeTimeoutMs, 10_000),
    );
    close = opened.close;
    const store = opened.store;
    const report = await resealCredentials(store, cipher, (place, what) =>
      logger.info('credential resealed', { place, what }),
    );
    logger.info('reseal done', {
      resealed: report.resealed.length,
      unchanged: report.unchanged,
      raced: report.raced,
      unopened: report.unopened.length,
    });
    if (report.unopened.length > 0) {
      logger.error(
        'some credentials could not be opened and were left as they are: give this command the key that sealed them ' +
          '(ENCRYPTION_KEY_PREVIOUS), or write them again',
        { unopened: report.unopened },
      );
      process.exitCode = 1;
    }
    if (report.raced.length > 0) {
      logger.warn('some credentials changed while sealing; run the command again to finish', { raced: report.raced });
      process.exitCode = 1;
    }
  } catch (error) {
    logger.error('reseal failed', errorFields(error, { stack: false }));
    process.exitCode = 1;
  } finally {
    await close();
  }
}

void reseal();
