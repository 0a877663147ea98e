// Configuration: the environment, validated once at start with envalid. Every problem is reported
// on a line of its own, and the process stops before anything listens.
import { EnvMissingError, bool, cleanEnv, host, makeValidator, str } from 'envalid';
import { MongoClient } from 'mongodb';
import { ConnectionString } from 'mongodb-connection-string-url';
import { redactString } from './redact';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  /** Undefined: the embedded in-memory store. */
  mongodbUri?: string;
  mongodbDb: string;
  mongoMaxPoolSize: number;
  logLevel: LogLevel;
  metricsEnabled: boolean;
  port: number;
  host: string;
  adminTokens: string[];
  readTokens: string[];
  authDisabled: boolean;
  /** ['*'] for any origin, [] for none. */
  corsOrigins: string[];
  shutdownGraceMs: number;
  storeTimeoutMs: number;
  cacheTtlMs: number;
  /** How old a copy this replica served may be and still answer a read while the store is down; 0: never. */
  staleIfErrorMs: number;
  encryptionKey?: Buffer;
  encryptionKeysPrevious: Buffer[];
  migrateOnStart: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Fewer different characters than this in a token, or byte values in a key, is a placeholder, not a secret. */
const MIN_DISTINCT_TOKEN_CHARACTERS = 8;
const MIN_DISTINCT_KEY_BYTES = 16;

const intIn = (min: number, max: number) =>
  makeValidator<number>((input) => {
    if (!/^\d+$/.test(input.trim()) || Number(input) < min || Number(input) > max) {
      throw new Error(`must be a whole number from ${min} to ${max} (got "${input}")`);
    }
    return Number(input);
  });

const list = (input: string): string[] =>
  input
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const tokenList = makeValidator<string[]>((input) => {
  const tokens = list(input);
  // The tokens themselves are never echoed: this line may reach a log collector.
  if (tokens.some((t) => t.length < 16 || /\s/.test(t))) throw new Error('each token must be at least 16 characters without spaces');
  if (tokens.some((t) => new Set(t).size < MIN_DISTINCT_TOKEN_CHARACTERS)) {
    throw new Error(`a token repeats too few characters to be a secret (fewer than ${MIN_DISTINCT_TOKEN_CHARACTERS} different ones); make one with: openssl rand -hex 32`);
  }
  return tokens;
});

const originList = makeValidator<string[]>((input) => {
  const origins = list(input);
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s?#]+$/.test(origin)) {
      throw new Error(`"${origin}" is not an origin like https://admin.example.com (scheme and host, no path), nor *`);
    }
  }
  return origins;
});

const keyList = makeValidator<Buffer[]>((input) =>
  list(input).map((encoded) => {
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
      throw new Error('must be 32 bytes, base64-encoded (make one with: openssl rand -base64 32)');
    }
    if (new Set(key).size < MIN_DISTINCT_KEY_BYTES) throw new Error('is not random (too few different bytes); make one with: openssl rand -base64 32');
    return key;
  }),
);

const mongoUri = makeValidator<string>((input) => {
  if (input === '') return input;
  try {
    // Parses only; no connection is made.
    new MongoClient(input);
  } catch (error) {
    throw new Error(`is not a MongoDB connection string (${redactString((error as Error).message)})`);
  }
  return input;
});

// Every variable the service reads; the ops manifests and the README are checked against this list.
const SPEC = {
  NODE_ENV: str({ choices: ['development', 'production', 'test'], default: 'development' }),
  MONGODB_URI: mongoUri({ default: '' }),
  MONGODB_DB: str({ default: 'ai-chatbot-framework' }),
  MONGO_MAX_POOL_SIZE: intIn(1, 1000)({ default: 10 }),
  LOG_LEVEL: str({ choices: ['error', 'warn', 'info', 'debug'], default: 'info' }),
  METRICS_ENABLED: bool({ default: true }),
  PORT: intIn(0, 65535)({ default: 8080 }), // 0: any free port (tests)
  HOST: host({ default: '127.0.0.1' }), // only this machine, unless the deployment says otherwise
  ADMIN_TOKENS: tokenList({ default: [] }),
  READ_TOKENS: tokenList({ default: [] }),
  AUTH_DISABLED: bool({ default: false }),
  CORS_ORIGINS: originList({ default: undefined }),
  SHUTDOWN_GRACE_MS: intIn(0, 600_000)({ default: 10_000 }),
  STORE_TIMEOUT_MS: intIn(50, 120_000)({ default: 3_000 }),
  CACHE_TTL_MS: intIn(0, 3_600_000)({ default: 1_000 }),
  STALE_IF_ERROR_MS: intIn(0, 86_400_000)({ default: 300_000 }),
  ENCRYPTION_KEY: keyList({ default: undefined }),
  ENCRYPTION_KEY_PREVIOUS: keyList({ default: [] }),
  MIGRATE_ON_START: bool({ default: undefined }),
};

export const ENV_VARIABLES = Object.keys(SPEC) as (keyof typeof SPEC)[];

/** Reads `env` into a Config, or throws ConfigError with one line per problem. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  const e = cleanEnv(
    env,
    SPEC,
    {
      reporter: ({ errors }) => {
        for (const [name, error] of Object.entries(errors)) {
          problems.push(`${name}: ${error instanceof EnvMissingError ? 'is required' : (error as Error).message}`);
        }
      },
    },
  );
  if (problems.length > 0) throw new ConfigError(problems.sort());

  const isProduction = e.NODE_ENV === 'production';
  const open = e.ADMIN_TOKENS.length === 0 && e.READ_TOKENS.length === 0;
  if (isProduction && !e.MONGODB_URI) problems.push('MONGODB_URI: is required when NODE_ENV=production (the in-memory store keeps nothing)');
  if (isProduction && open && !e.AUTH_DISABLED) {
    problems.push('ADMIN_TOKENS: is required when NODE_ENV=production; set AUTH_DISABLED=true to run open on purpose');
  }
  // An empty value (a manifest passing through an unset secret) is the same as unset.
  const encryptionKeys = e.ENCRYPTION_KEY ?? [];
  if (encryptionKeys.length > 1) problems.push('ENCRYPTION_KEY: must be exactly one key; older keys go in ENCRYPTION_KEY_PREVIOUS');
  if (encryptionKeys.length === 0 && e.ENCRYPTION_KEY_PREVIOUS.length > 0) problems.push('ENCRYPTION_KEY_PREVIOUS: is set without ENCRYPTION_KEY');
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv: e.NODE_ENV as Config['nodeEnv'],
    isProduction,
    mongodbUri: e.MONGODB_URI || undefined,
    mongodbDb: e.MONGODB_DB,
    mongoMaxPoolSize: e.MONGO_MAX_POOL_SIZE,
    logLevel: e.LOG_LEVEL as LogLevel,
    metricsEnabled: e.METRICS_ENABLED,
    port: e.PORT,
    host: e.HOST,
    adminTokens: e.ADMIN_TOKENS,
    readTokens: e.READ_TOKENS,
    authDisabled: e.AUTH_DISABLED,
    // No cross-origin access unless asked for: a web page a developer opens must not reach the credentials.
    corsOrigins: e.CORS_ORIGINS ?? [],
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    storeTimeoutMs: e.STORE_TIMEOUT_MS,
    cacheTtlMs: e.CACHE_TTL_MS,
    staleIfErrorMs: e.STALE_IF_ERROR_MS,
    encryptionKey: encryptionKeys[0],
    encryptionKeysPrevious: e.ENCRYPTION_KEY_PREVIOUS,
    migrateOnStart: e.MIGRATE_ON_START ?? !isProduction,
  };
}

/** What the service runs with, fit for a log line: no secret, no password. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    nodeEnv: config.nodeEnv,
    store: config.mongodbUri ? 'mongodb' : 'memory',
    mongodbUri: config.mongodbUri && describeMongoUri(config.mongodbUri),
    mongodbDb: config.mongodbDb,
    mongoMaxPoolSize: config.mongoMaxPoolSize,
    logLevel: config.logLevel,
    metricsEnabled: config.metricsEnabled,
    listen: `${config.host}:${config.port}`,
    auth: config.adminTokens.length + config.readTokens.length > 0 ? `${config.adminTokens.length} admin, ${config.readTokens.length} read tokens` : 'open',
    corsOrigins: config.corsOrigins,
    shutdownGraceMs: config.shutdownGraceMs,
    storeTimeoutMs: config.storeTimeoutMs,
    cacheTtlMs: config.cacheTtlMs,
    staleIfErrorMs: config.staleIfErrorMs,
    encryption: config.encryptionKey ? `on (${config.encryptionKeysPrevious.length} previous keys)` : 'off',
    migrateOnStart: config.migrateOnStart,
  };
}

// Options of a connection string that hold a secret (proxyPassword, tlsCertificateKeyFilePassword, AWS
// session tokens in authMechanismProperties, …).
const SECRET_OPTION = /pass|secret|token|key|credential|authMechanismProperties/i;

/** The connection string without its user info and without the value of any option that holds a secret. */
export function describeMongoUri(uri: string): string {
  try {
    const parsed = new ConnectionString(uri);
    const hadUser = parsed.username !== '' || parsed.password !== '';
    parsed.username = '';
    parsed.password = '';
    for (const name of [...parsed.searchParams.keys()]) if (SECRET_OPTION.test(name)) parsed.searchParams.set(name, 'REDACTED');
    return hadUser ? parsed.toString().replace('://', '://[REDACTED]@') : parsed.toString();
  } catch {
    return '[unparseable connection string]';
  }
}
