// Logs: one JSON object per line, request fields, and never a credential.
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import sinon from 'sinon';
import { testKey } from '../support/service';
import request from 'supertest';
import { describeConfig, loadConfig } from '../../src/infrastructure/config';
import { WinstonLogger } from '../../src/infrastructure/logger';
import { REDACTED, redact, redactString } from '../../src/infrastructure/redact';
import { startService, type RunningService } from '../support/service';
import { REQUEST_ID } from '../../src/adapters/http/request-context';
import { waitFor } from '../support/wait';

const CREDENTIALS = {
  verify: 'verify-visible-ok',
  secret: 'APP-SECRET-do-not-log',
  page_access_token: 'PAGE-TOKEN-do-not-log',
};
const ADMIN_TOKEN = 'ADMIN-TOKEN-do-not-log-123';

function capture(level: 'error' | 'warn' | 'info' | 'debug'): {
  logger: WinstonLogger;
  lines: () => Record<string, unknown>[];
} {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return {
    logger: new WinstonLogger(level, stream),
    lines: () =>
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logs', () => {
  describe('of a running service', () => {
    let running: RunningService;

    beforeEach(async () => {
      running = await startService({ ADMIN_TOKENS: ADMIN_TOKEN, MONGODB_URI: '' });
    });

    afterEach(async () => {
      await running.stop();
    });

    it('are one JSON object per line with time, level and msg first', () => {
      const raw = running.rawLogs().trim().split('\n');
      expect(raw.length).to.be.at.least(3);
      for (const line of raw) {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        expect(Object.keys(parsed).slice(0, 3)).to.deep.equal(['time', 'level', 'msg']);
        expect(new Date(parsed.time as string).toISOString()).to.equal(parsed.time);
      }
    });

    it('log each request with its request id, method, route template, status and duration', async () => {
      await request(running.url)
        .get('/admin/integrations/facebook')
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .set('X-Request-Id', 'trace-me-1')
        .expect(200);
      const line = running.logs().find((l) => l.clientRequestId === 'trace-me-1');
      expect(line!.requestId).to.match(REQUEST_ID);
      expect(line).to.deep.include({
        level: 'info',
        msg: 'request',
        method: 'GET',
        route: '/integrations/:id',
        path: '/admin/integrations/facebook',
        status: 200,
      });
      expect(line!.durationMs).to.be.a('number').and.at.least(0);
    });

    it(
      'write a request line within moments of its end without anyone asking, and the last ones when the service ' +
        'stops',
      async () => {
        const read = () =>
          request(running.url).get('/admin/integrations/facebook').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
        await read().set('X-Request-Id', 'batched-1').expect(200);
        await waitFor(
          'the line of a request nobody flushed',
          () => running.linesWritten().find((l) => l.clientRequestId === 'batched-1'),
          1_000,
        );
        await read().set('X-Request-Id', 'batched-2').expect(200);
        await running.stop();
        const lines = running.linesWritten();
        const last = lines.findIndex((l) => l.clientRequestId === 'batched-2');
        expect(last, 'the line of a request that ended just before the stop').to.be.at.least(0);
        expect(
          lines.findIndex((l) => l.msg === 'stopped'),
          'written before the service says it stopped',
        ).to.be.greaterThan(last);
      },
    );

    it('never contain the credentials of a PUT, the Authorization header, or a failing body', async () => {
      const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
      const saved = await request(running.url)
        .put('/admin/integrations/facebook')
        .set(auth)
        .send({ name: 'Facebook Messenger', description: 'x', settings: CREDENTIALS })
        .expect(200);
      expect(saved.body.settings).to.deep.equal(CREDENTIALS);
      await request(running.url)
        .put('/admin/integrations/facebook')
        .set(auth)
        .set('Content-Type', 'application/json')
        .send(`{"settings": {"secret": "${CREDENTIALS.secret}"`)
        .expect(400);
      await request(running.url)
        .patch('/admin/integrations/facebook')
        .set(auth)
        .send({ settings: { ...CREDENTIALS, extra: 1 } })
        .expect(422);
      await request(running.url).get('/integrations').set('Authorization', `Bearer ${CREDENTIALS.secret}`).expect(401);
      const text = running.rawLogs();
      expect(text).to.include('"requestId"');
      for (const credential of [CREDENTIALS.secret, CREDENTIALS.page_access_token, ADMIN_TOKEN])
        expect(text).to.not.include(credential);
    });
  });

  it('honour LOG_LEVEL: warn drops info and debug lines', () => {
    const { logger, lines } = capture('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines().map((l) => l.level)).to.deep.equal(['warn', 'error']);
  });

  it('do not even read the fields of a line whose level is turned off', () => {
    const { logger, lines } = capture('warn');
    let reads = 0;
    const fields = {
      get status() {
        reads += 1;
        return 200;
      },
    };
    logger.info('request', fields);
    logger.debug('probe', fields);
    expect(reads).to.equal(0);
    logger.warn('slow', fields);
    expect(reads).to.be.above(0);
    expect(lines()).to.have.length(1);
  });

  it('stamp each line with the millisecond it was written in', () => {
    const clock = sinon.useFakeTimers({ now: Date.parse('2026-12-05T10:00:00.000Z'), toFake: ['Date'] });
    try {
      const { logger, lines } = capture('info');
      logger.info('a');
      logger.info('b');
      clock.tick(1);
      logger.info('c');
      clock.tick(59_999);
      logger.info('d');
      expect(lines().map((l) => l.time)).to.deep.equal([
        '2026-12-05T10:00:00.000Z',
        '2026-12-05T10:00:00.000Z',
        '2026-12-05T10:00:00.001Z',
        '2026-12-05T10:01:00.000Z',
      ]);
    } finally {
      clock.restore();
    }
  });

  it('redact credentials wherever they sit in the fields, and inside strings', () => {
    const { logger, lines } = capture('debug');
    logger.error('failed for mongodb://app:hunter2@db.internal:27017/x with "secret":"s3cr3t" and Bearer abc.def', {
      body: { settings: { secret: 's3cr3t', page_access_token: 'tok', verify: 'fine' } },
      headers: { Authorization: 'Bearer abc.def', 'content-type': 'application/json' },
      err: { message: 'E11000 while writing {"page_access_token":"tok"}' },
    });
    const text = JSON.stringify(lines());
    for (const secret of ['hunter2', 's3cr3t', '"tok"', 'abc.def']) expect(text).to.not.include(secret);
    const [line] = lines();
    expect(line).to.nested.include({
      'body.settings.verify': 'fine',
      'body.settings.secret': REDACTED,
      'headers.Authorization': REDACTED,
    });
    expect(line.msg).to.include(`mongodb://app:${REDACTED}@db.internal:27017/x`);
  });

  it('write every string, message or field, as JSON.stringify writes it once redacted, whatever it holds', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const logger = new WinstonLogger('info', stream);
    // What the fast path must send the slow way: quotes, backslashes, controls, DEL, non-ASCII, lone surrogates,
    // and the hints of a credential in any case; beside strings it may quote as they are.
    const pool = [
      'a',
      'Z',
      '0',
      ' ',
      '/',
      ':',
      '-',
      '~',
      '"',
      '\\',
      '\n',
      '\t',
      '\u0000',
      '\u007f',
      '\u0080',
      'é',
      '€',
      '🙂',
      '\ud800',
      '\udc00',
      'b',
      'm',
    ];
    const strings = [
      '',
      '/integrations/facebook',
      'GET',
      'a5a66e02-1050bc65',
      'Bearer abc.def',
      'bEaReR\tx',
      'x mongodb://u:p@h/db',
      'MONGODB+SRV://u:p@h',
      '{"secret":"s"}',
      '"',
      '\\',
    ];
    let seed = 7;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let i = 0; i < 400; i += 1)
      strings.push(Array.from({ length: next() % 24 }, () => pool[next() % pool.length]).join(''));
    // Each twice in a row, as a route or a path comes line after line.
    strings.splice(0, strings.length, ...strings.flatMap((value) => [value, value]));
    for (const value of strings) logger.info(value, { value });
    const lines = text.trimEnd().split('\n');
    expect(lines).to.have.length(strings.length);
    lines.forEach((line, i) => {
      const expected = JSON.stringify(redactString(strings[i]!));
      expect(line, `line ${i}`)
        .to.include(`"msg":${expected}`)
        .and.match(new RegExp(`,"value":${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}}$`));
      expect(() => JSON.parse(line) as unknown, `line ${i}`).not.to.throw();
    });
  });

  it('show the configuration at start without the MongoDB password, tokens or keys', () => {
    const config = loadConfig({
      MONGODB_URI: 'mongodb+srv://svc:p%40ss-word@cluster0.example.net/?retryWrites=true',
      ADMIN_TOKENS: 'admin-token-aaaaaaaaaaaa',
      READ_TOKENS: 'read-token-bbbbbbbbbbbbbb',
      ENCRYPTION_KEY: testKey(7),
    });
    const described = JSON.stringify(redact(describeConfig(config)));
    for (const secret of ['p%40ss-word', 'admin-token-aaaaaaaaaaaa', 'read-token-bbbbbbbbbbbbbb', testKey(7)]) {
      expect(described).to.not.include(secret);
    }
    expect(described).to.include('cluster0.example.net').and.include('1 admin, 1 read, 0 gateway tokens');
  });
});
