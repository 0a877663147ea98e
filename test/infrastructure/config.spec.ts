import { expect } from 'chai';
import { testKey } from '../support/service';
import { ConfigError, describeConfig, loadConfig } from '../../src/infrastructure/config';

const KEY = testKey(1);
const OLD_KEY = testKey(2);

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

describe('configuration', () => {
  it(
    "with no environment: development, in-memory store, :8090 (not the chatbot's 8080 nor 3000), loopback only, no " +
      'CORS origin, migrations on start',
    () => {
      expect(loadConfig({})).to.deep.include({
        nodeEnv: 'development',
        isProduction: false,
        mongodbUri: undefined,
        mongodbDb: 'ai-chatbot-framework',
        mongoMaxPoolSize: 10,
        logLevel: 'info',
        metricsEnabled: true,
        port: 8090,
        host: '127.0.0.1',
        allowedHosts: ['localhost:8090', '127.0.0.1:8090', '[::1]:8090'],
        corsOrigins: [],
        shutdownGraceMs: 10_000,
        storeTimeoutMs: 3_000,
        cacheTtlMs: 1_000,
        migrateOnStart: true,
        adminTokens: [],
      });
    },
  );

  it('in production: no CORS origin and no migrations on start unless set', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      MONGODB_URI: 'mongodb://db:27017',
      ADMIN_TOKENS: 'a-long-admin-token-123',
    });
    expect(config).to.deep.include({
      isProduction: true,
      corsOrigins: [],
      migrateOnStart: false,
      adminTokens: ['a-long-admin-token-123'],
    });
  });

  it('lets production run without tokens only with AUTH_DISABLED=true', () => {
    expect(problems({ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db:27017' })).to.have.length(1);
    expect(
      problems({ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db:27017', AUTH_DISABLED: 'true' }),
    ).to.deep.equal([]);
  });

  it('reads comma-separated tokens and origins, trimming spaces', () => {
    const config = loadConfig({
      ADMIN_TOKENS: ' token-one-0123456789 , token-two-0123456789 ',
      CORS_ORIGINS: 'https://a.example.com, http://localhost:3000',
    });
    expect(config.adminTokens).to.deep.equal(['token-one-0123456789', 'token-two-0123456789']);
    expect(config.corsOrigins).to.deep.equal(['https://a.example.com', 'http://localhost:3000']);
  });

  it('refuses short tokens without echoing them, origins with a path, and a malformed connection string', () => {
    const found = problems({
      READ_TOKENS: 'short',
      CORS_ORIGINS: 'https://a.example.com/admin',
      MONGODB_URI: 'postgres://db',
    });
    expect(found).to.have.length(3);
    expect(found.join('\n'))
      .to.not.include('short,')
      .and.not.match(/"short"/);
    expect(found[0]).to.match(/^CORS_ORIGINS: /);
    expect(found[1]).to.match(/^MONGODB_URI: is not a MongoDB connection string/);
    expect(found[2]).to.equal('READ_TOKENS: each token must be at least 16 characters without spaces');
  });

  it('takes one encryption key and any number of previous ones; empty means off', () => {
    const config = loadConfig({ ENCRYPTION_KEY: KEY, ENCRYPTION_KEY_PREVIOUS: `${OLD_KEY},${KEY}` });
    expect(config.encryptionKey!.equals(Buffer.from(KEY, 'base64'))).to.equal(true);
    expect(config.encryptionKeysPrevious).to.have.length(2);
    expect(loadConfig({ ENCRYPTION_KEY: '', ENCRYPTION_KEY_PREVIOUS: '' }).encryptionKey).to.equal(undefined);
    expect(problems({ ENCRYPTION_KEY: `${KEY},${OLD_KEY}` })).to.deep.equal([
      'ENCRYPTION_KEY: must be exactly one key; older keys go in ENCRYPTION_KEY_PREVIOUS',
    ]);
    expect(problems({ ENCRYPTION_KEY_PREVIOUS: OLD_KEY })).to.deep.equal([
      'ENCRYPTION_KEY_PREVIOUS: is set without ENCRYPTION_KEY',
    ]);
  });

  it(
    'refuses CORS_ORIGINS=* in production and whenever tokens are set, saying why in one line; allows it open, ' +
      'outside production',
    () => {
      const tokens = { ADMIN_TOKENS: 'a-long-admin-token-123' };
      expect(problems({ CORS_ORIGINS: '*', ...tokens })).to.deep.equal([
        'CORS_ORIGINS: * is refused when tokens are set: any web page could then call the API with whatever a gateway ' +
          "adds; name the admin UI's origin (https://admin.example.com)",
      ]);
      expect(problems({ CORS_ORIGINS: '*', GATEWAY_TOKENS: 'a-long-gateway-token-12' })).to.have.length(1);
      expect(
        problems({ CORS_ORIGINS: '*', NODE_ENV: 'production', MONGODB_URI: 'mongodb://db', AUTH_DISABLED: 'true' })[0],
      ).to.include('in production');
      expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).to.deep.equal(['*']);
    },
  );

  it(
    'requires ALLOWED_HOSTS when HOST is not a loopback address, refuses a wildcard, and defaults to the loopback ' +
      'names on PORT',
    () => {
      expect(problems({ HOST: '0.0.0.0' })[0]).to.match(
        /^ALLOWED_HOSTS: is required when HOST is not a loopback address/,
      );
      expect(problems({ ALLOWED_HOSTS: '*' })[0]).to.include('must name the hosts');
      expect(problems({ ALLOWED_HOSTS: 'http://integrations-service' })[0]).to.include('is not a host name');
      expect(
        loadConfig({ HOST: '0.0.0.0', ALLOWED_HOSTS: 'integrations-service, *.svc.cluster.local ,[::1]:8090' })
          .allowedHosts,
      ).to.deep.equal(['integrations-service', '*.svc.cluster.local', '[::1]:8090']);
      expect(loadConfig({ PORT: '9000' }).allowedHosts).to.deep.equal([
        'localhost:9000',
        '127.0.0.1:9000',
        '[::1]:9000',
      ]);
    },
  );

  it('takes a next encryption key (opens, never seals), also while encryption is off, and only one', () => {
    expect(loadConfig({ ENCRYPTION_KEY_NEXT: KEY })).to.deep.include({
      encryptionKey: undefined,
      encryptionKeyNext: Buffer.from(KEY, 'base64'),
    });
    expect(problems({ ENCRYPTION_KEY: KEY, ENCRYPTION_KEY_NEXT: `${OLD_KEY},${testKey(3)}` })[0]).to.match(
      /^ENCRYPTION_KEY_NEXT: must be exactly one key/,
    );
  });

  it('bounds the numbers: pool size, timeouts, port', () => {
    expect(
      problems({ MONGO_MAX_POOL_SIZE: '0', STORE_TIMEOUT_MS: '10', PORT: '-1', CACHE_TTL_MS: '1.5' }),
    ).to.deep.equal([
      'CACHE_TTL_MS: must be a whole number from 0 to 3600000 (got "1.5")',
      'MONGO_MAX_POOL_SIZE: must be a whole number from 1 to 1000 (got "0")',
      'PORT: must be a whole number from 0 to 65535 (got "-1")',
      'STORE_TIMEOUT_MS: must be a whole number from 50 to 120000 (got "10")',
    ]);
  });

  it('takes a probe port apart from the API port, none by default, and refuses one equal to it', () => {
    expect(loadConfig({}).probePort).to.equal(undefined);
    expect(loadConfig({ PORT: '8090', PROBE_PORT: '8091' })).to.include({ port: 8090, probePort: 8091 });
    expect(problems({ PORT: '8090', PROBE_PORT: '8090' })).to.deep.equal(['PROBE_PORT: must differ from PORT (8090)']);
    expect(problems({ PROBE_PORT: '70000' })).to.deep.equal([
      'PROBE_PORT: must be a whole number from 0 to 65535 (got "70000")',
    ]);
    // Tests run both on free ports.
    expect(loadConfig({ PORT: '0', PROBE_PORT: '0' })).to.include({ port: 0, probePort: 0 });
  });

  it('refuses placeholder secrets: a token of one repeated character, an all-zero or all-equal key', () => {
    expect(problems({ ADMIN_TOKENS: 'aaaaaaaaaaaaaaaa' })[0]).to.match(
      /^ADMIN_TOKENS: a token repeats too few characters/,
    );
    expect(problems({ READ_TOKENS: 'abababababababababab' })[0]).to.match(
      /^READ_TOKENS: a token repeats too few characters/,
    );
    expect(problems({ ENCRYPTION_KEY: Buffer.alloc(32).toString('base64') })).to.deep.equal([
      'ENCRYPTION_KEY: is not random (too few different bytes); make one with: openssl rand -base64 32',
    ]);
    expect(
      problems({ ENCRYPTION_KEY: KEY, ENCRYPTION_KEY_PREVIOUS: Buffer.alloc(32, 9).toString('base64') })[0],
    ).to.match(/^ENCRYPTION_KEY_PREVIOUS: is not random/);
    expect(loadConfig({ ADMIN_TOKENS: 'f3a9c1d2e4b5a6978812ab34cd56ef70' }).adminTokens).to.have.length(1);
  });

  it('describes the MongoDB URI at start without any user info or secret option, whatever its shape', () => {
    const uri =
      'mongodb://svc:pass ' +
      'word@db1:27017,db2:27017/chatbot?replicaSet=rs0&proxyHost=p&proxyUsername=u&proxyPassword=proxy-secret&tlsCertificateKeyFilePassword=tls-secret&authSource=admin';
    const described = JSON.stringify(describeConfig(loadConfig({ MONGODB_URI: uri })));
    for (const secret of ['pass word', 'pass%20word', 'proxy-secret', 'tls-secret', 'svc'])
      expect(described).to.not.include(secret);
    expect(described)
      .to.include('db1:27017,db2:27017/chatbot')
      .and.include('replicaSet=rs0')
      .and.include('authSource=admin');
  });
});
