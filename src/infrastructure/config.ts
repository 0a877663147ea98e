// Configuration: the environment, validated once at start with envalid. Every problem is reported
// on a line of its own, and the process stops before anything listens.
import { isIP } from 'node:net';
import { EnvMissingError, bool, cleanEnv, host, makeValidator, str } from 'envalid';
import { checkMongoUri, describeMongoUri } from '../adapters/persistence/mongo/mongo-uri';
import { redactString } from './redact';

export { describeMongoUri } from '../adapters/persistence/mongo/mongo-uri';

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
  /** A second port answering only /healthz and /readyz, for probes; undefined: none. */
  probePort?: number;
  host: string;
  adminTokens: string[];
  readTokens: string[];
  /** Tokens of gateways that sign people in and name them (X-Forwarded-User). */
  gatewayTokens: string[];
  authDisabled: boolean;
  /** Host names the API answers to (DNS rebinding). */
  allowedHosts: string[];
  /** ['*'] for any origin, [] for none. */
  corsOrigins: string[];
  shutdownGraceMs: number;
  storeTimeoutMs: number;
  cacheTtlMs: number;
  /** How old a copy this replica served may be and still answer a read while the store is down; 0: never. */
  staleIfErrorMs: number;
  encryptionKey?: Buffer;
  /** Keys that open what they sealed but seal nothing: the previous key after a rotation, the next one before it. */
  encryptionKeysPrevious: Buffer[];
  encryptionKeyNext?: Buffer;
  migrateOnStart: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

// What an example file's value looks like (`replace-with-…`, `change-me`, `<token>`, an example.com host): in
// production such a value is a manifest applied as shipped, not a secret.
const PLACEHOLDER =
  /replace[-_ ]?with|change[-_ ]?me|placeholder|your[-_]|<[^>]*>|(?:^|[.@/])example\.|\.example(?:[.:/]|$)/i;

/** The problems of values left as an example file gave them. */
function placeholders(e: {
  ADMIN_TOKENS: string[];
  READ_TOKENS: string[];
  GATEWAY_TOKENS: string[];
  MONGODB_URI: string;
}): string[] {
  const problems: string[] = [];
  for (const name of ['ADMIN_TOKENS', 'READ_TOKENS', 'GATEWAY_TOKENS'] as const) {
    if (e[name].some((token) => PLACEHOLDER.test(token))) {
      problems.push(`${name}: holds an example's placeholder, not a secret; make one with: openssl rand -hex 32`);
    }
  }
  if (PLACEHOLDER.test(e.MONGODB_URI.replace(/\/\/[^@/]*@/, '//'))) {
    problems.push("MONGODB_URI: names an example's host or placeholder; give the production database's URI");
  }
  return problems;
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
  if (tokens.some((t) => t.length < 16 || /\s/.test(t)))
    throw new Error('each token must be at least 16 characters without spaces');
  if (tokens.some((t) => new Set(t).size < MIN_DISTINCT_TOKEN_CHARACTERS)) {
    throw new Error(
      `a token repeats too few characters to be a secret (fewer than ${MIN_DISTINCT_TOKEN_CHARACTERS} different ` +
        `ones); make one with: openssl rand -hex 32`,
    );
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
    if (new Set(key).size < MIN_DISTINCT_KEY_BYTES)
      throw new Error('is not random (too few different bytes); make one with: openssl rand -base64 32');
    return key;
  }),
);

const mongoUri = makeValidator<string>((input) => {
  if (input !== '') checkMongoUri(input, redactString);
  return input;
});

// name, name:port, *.domain, [::1]:8090: what a Host header may carry.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_ENTRY = new RegExp(
  `^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*(?::\\d{1,5})?$|^\\[[0-9a-f:.]+\\](?::\\d{1,5})?$`,
  'i',
);

const hostList = makeValidator<string[]>((input) => {
  const hosts = list(input);
  for (const entry of hosts) {
    if (entry === '*')
      throw new Error('must name the hosts (a wildcard would let any page rebind its name to this service)');
    if (!HOST_ENTRY.test(entry))
      throw new Error(
        `"${entry}" is not a host name like integrations-service, admin.example.com:8443, *.example.com or [::1]:8090`,
      );
  }
  return hosts;
});

// Every variable the service reads; the ops manifests and the README are checked against this list.
const SPEC = {
  NODE_ENV: str({ choices: ['development', 'production', 'test'], default: 'development' }),
  MONGODB_URI: mongoUri({ default: '' }),
  MONGODB_DB: str({ default: 'ai-chatbot-framework' }),
  MONGO_MAX_POOL_SIZE: intIn(1, 1000)({ default: 10 }),
  LOG_LEVEL: str({ choices: ['error', 'warn', 'info', 'debug'], default: 'info' }),
  METRICS_ENABLED: bool({ default: true }),
  // Not 8080 nor 3000: the chatbot's backend and admin UI use those on the same machine.
  PORT: intIn(0, 65535)({ default: 8090 }), // 0: any free port (tests)
  // Its connections are accepted apart from the API's, so a flood of API connections does not hold a probe back.
  PROBE_PORT: intIn(0, 65535)({ default: undefined }),
  HOST: host({ default: '127.0.0.1' }), // only this machine, unless the deployment says otherwise
  ALLOWED_HOSTS: hostList({ default: undefined }),
  ADMIN_TOKENS: tokenList({ default: [] }),
  READ_TOKENS: tokenList({ default: [] }),
  GATEWAY_TOKENS: tokenList({ default: [] }),
  AUTH_DISABLED: bool({ default: false }),
  CORS_ORIGINS: originList({ default: undefined }),
  SHUTDOWN_GRACE_MS: intIn(0, 600_000)({ default: 10_000 }),
  STORE_TIMEOUT_MS: intIn(50, 120_000)({ default: 3_000 }),
  CACHE_TTL_MS: intIn(0, 3_600_000)({ default: 1_000 }),
  STALE_IF_ERROR_MS: intIn(0, 86_400_000)({ default: 300_000 }),
  ENCRYPTION_KEY: keyList({ default: undefined }),
  ENCRYPTION_KEY_PREVIOUS: keyList({ default: [] }),
  ENCRYPTION_KEY_NEXT: keyList({ default: undefined }),
  MIGRATE_ON_START: bool({ default: undefined }),
};

export const ENV_VARIABLES = Object.keys(SPEC) as (keyof typeof SPEC)[];

/** Reads `env` into a Config, or throws ConfigError with one line per problem. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  const e = cleanEnv(env, SPEC, {
    reporter: ({ errors }) => {
      for (const [name, error] of Object.entries(errors)) {
        problems.push(`${name}: ${error instanceof EnvMissingError ? 'is required' : (error as Error).message}`);
      }
    },
  });
  if (problems.length > 0) throw new ConfigError(problems.sort());

  const isProduction = e.NODE_ENV === 'production';
  const withTokens = e.ADMIN_TOKENS.length + e.READ_TOKENS.length + e.GATEWAY_TOKENS.length > 0;
  if (isProduction && !e.MONGODB_URI)
    problems.push('MONGODB_URI: is required when NODE_ENV=production (the in-memory store keeps nothing)');
  if (isProduction && !withTokens && !e.AUTH_DISABLED) {
    problems.push('ADMIN_TOKENS: is required when NODE_ENV=production; set AUTH_DISABLED=true to run open on purpose');
  }
  if (isProduction) problems.push(...placeholders(e));
  const corsOrigins = e.CORS_ORIGINS ?? [];
  if (corsOrigins.includes('*') && (isProduction || withTokens)) {
    problems.push(
      `CORS_ORIGINS: * is refused ${isProduction ? 'in production' : 'when tokens are set'}: any web page could ` +
        `then call the API with whatever a gateway adds; name the admin UI's origin (https://admin.example.com)`,
    );
  }
  const loopback = isLoopback(e.HOST);
  if (e.ALLOWED_HOSTS === undefined && !loopback) {
    problems.push(
      `ALLOWED_HOSTS: is required when HOST is not a loopback address (${e.HOST}): list the names clients reach ` +
        `this service by (integrations-service,integrations-service.chatbot.svc.cluster.local)`,
    );
  }
  // An empty value (a manifest passing through an unset secret) is the same as unset.
  const encryptionKeys = e.ENCRYPTION_KEY ?? [];
  const nextKeys = e.ENCRYPTION_KEY_NEXT ?? [];
  if (encryptionKeys.length > 1)
    problems.push('ENCRYPTION_KEY: must be exactly one key; older keys go in ENCRYPTION_KEY_PREVIOUS');
  if (nextKeys.length > 1)
    problems.push(
      'ENCRYPTION_KEY_NEXT: must be exactly one key, the one every replica learns before any replica seals with it',
    );
  if (encryptionKeys.length === 0 && e.ENCRYPTION_KEY_PREVIOUS.length > 0)
    problems.push('ENCRYPTION_KEY_PREVIOUS: is set without ENCRYPTION_KEY');
  if (e.PROBE_PORT !== undefined && e.PROBE_PORT !== 0 && e.PROBE_PORT === e.PORT)
    problems.push(`PROBE_PORT: must differ from PORT (${e.PORT})`);
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
    probePort: e.PROBE_PORT,
    host: e.HOST,
    adminTokens: e.ADMIN_TOKENS,
    readTokens: e.READ_TOKENS,
    gatewayTokens: e.GATEWAY_TOKENS,
    authDisabled: e.AUTH_DISABLED,
    // Bound to loopback: the loopback names, on this port (any port when PORT is 0, as in tests).
    allowedHosts: e.ALLOWED_HOSTS ?? LOOPBACK_NAMES.map((name) => (e.PORT === 0 ? name : `${name}:${e.PORT}`)),
    // No cross-origin access unless asked for: a web page a developer opens must not reach the credentials.
    corsOrigins,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    storeTimeoutMs: e.STORE_TIMEOUT_MS,
    cacheTtlMs: e.CACHE_TTL_MS,
    staleIfErrorMs: e.STALE_IF_ERROR_MS,
    encryptionKey: encryptionKeys[0],
    encryptionKeysPrevious: e.ENCRYPTION_KEY_PREVIOUS,
    encryptionKeyNext: nextKeys[0],
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
    probes: config.probePort === undefined ? 'on the API port' : `${config.host}:${config.probePort} and the API port`,
    auth: hasTokens(config)
      ? `${config.adminTokens.length} admin, ${config.readTokens.length} read, ` +
        `${config.gatewayTokens.length} gateway tokens`
      : 'open',
    allowedHosts: config.allowedHosts,
    corsOrigins: config.corsOrigins,
    shutdownGraceMs: config.shutdownGraceMs,
    storeTimeoutMs: config.storeTimeoutMs,
    cacheTtlMs: config.cacheTtlMs,
    staleIfErrorMs: config.staleIfErrorMs,
    encryption: config.encryptionKey
      ? `on (${config.encryptionKeysPrevious.length} previous keys${config.encryptionKeyNext ? ', a next key' : ''})`
      : config.encryptionKeyNext
        ? 'off (a next key is known: it opens what it sealed)'
        : 'off',
    migrateOnStart: config.migrateOnStart,
  };
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

function isLoopback(host: string): boolean {
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

/** Whether any token is configured: without one the API is open. */
export function hasTokens(config: Pick<Config, 'adminTokens' | 'readTokens' | 'gatewayTokens'>): boolean {
  return config.adminTokens.length + config.readTokens.length + config.gatewayTokens.length > 0;
}
