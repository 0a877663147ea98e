// The real driver and the service's start-up against a wire-protocol test double (test/support/wire-double:
// scripted replies, not MongoDB): a server too old for the driver, credentials refused, a server that keeps
// failing. Permanent faults refuse the start with one line; passing ones are retried.
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { permanentFault } from '../../src/adapters/persistence/mongo-errors';
import { StartupRefusal } from '../../src/infrastructure/startup-refusal';
import { startService, type RunningService } from '../support/service';
import { helloReply, startWireDouble, type WireDouble } from '../support/wire-double';

const isHello = (command: string): boolean => ['hello', 'isMaster', 'ismaster'].includes(command);

describe('start-up against a wire-protocol double (not MongoDB)', function () {
  this.timeout(20_000);
  let double: WireDouble;
  let running: RunningService | undefined;

  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await double.close();
  });

  it('refuses MongoDB 4.2 (the chatbot’s mongo:4.2.20) at once, with one line naming the version and the minimum', async () => {
    double = await startWireDouble((command) => (isHello(command) ? helloReply(8) : { ok: 0, errmsg: 'not scripted' }));
    running = await startService({ MONGODB_URI: double.uri, STORE_TIMEOUT_MS: '500' }, { waitUntilReady: false });
    const error = await running.service.whenInitialized().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StartupRefusal);
    expect((error as Error).message).to.match(/^MongoDB at 127\.0\.0\.1:\d+ is version 4\.2 \(wire version 8\); this service needs MongoDB 4\.4 or later/);
    const ready = await request(running.url).get('/readyz').expect(503);
    expect(ready.body.checks).to.include({ store: 'refused' });
    expect(ready.body.checks.reason).to.include('4.2');
  });

  it('refuses credentials MongoDB rejects, saying so, and never echoes the password', async () => {
    double = await startWireDouble((command) => {
      if (isHello(command)) return helloReply(21);
      if (command === 'saslStart' || command === 'authenticate') return { ok: 0, code: 18, codeName: 'AuthenticationFailed', errmsg: 'Authentication failed.' };
      return { ok: 0, code: 13, codeName: 'Unauthorized', errmsg: 'command requires authentication' };
    });
    const uri = double.uri.replace('mongodb://', 'mongodb://svc:wrong-password-123@').replace('?', '?authMechanism=SCRAM-SHA-256&');
    running = await startService({ MONGODB_URI: uri, STORE_TIMEOUT_MS: '500' }, { waitUntilReady: false });
    const error = await running.service.whenInitialized().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StartupRefusal);
    expect((error as Error).message).to.include('AuthenticationFailed');
    expect(running.rawLogs()).to.not.include('wrong-password-123');
  });

  it('retries a server that answers but keeps failing (shutting down), reporting it not ready, never refused', async () => {
    double = await startWireDouble((command) => (isHello(command) ? helloReply(21) : { ok: 0, code: 91, codeName: 'ShutdownInProgress', errmsg: 'shutdown in progress' }));
    running = await startService({ MONGODB_URI: double.uri, STORE_TIMEOUT_MS: '300' }, { waitUntilReady: false });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const retries = running.logs().filter((l) => l.msg === 'store not ready; retrying');
    expect(retries.length).to.be.at.least(2);
    expect(running.logs().some((l) => l.msg === 'refusing to start')).to.equal(false);
    const ready = await request(running.url).get('/readyz').expect(503);
    expect(ready.body.checks).to.include({ store: 'connecting' });
    expect(double.received.filter((c) => !isHello(c)).length).to.be.at.least(2);
  });

  it('classifies the driver’s own errors: a too-old server and refused credentials are permanent, a network fault is not', async () => {
    double = await startWireDouble((command) => (isHello(command) ? helloReply(8) : undefined));
    const client = new MongoClient(double.uri, { serverSelectionTimeoutMS: 500 });
    const tooOld = await client.connect().catch((e: unknown) => e);
    await client.close();
    expect(permanentFault(tooOld)).to.match(/version 4\.2/);

    double.setScript(() => undefined); // closes every connection: a network fault
    const flaky = new MongoClient(double.uri, { serverSelectionTimeoutMS: 300 });
    const network = await flaky.connect().catch((e: unknown) => e);
    await flaky.close();
    expect(network).to.be.instanceOf(Error);
    expect(permanentFault(network)).to.equal(null);
  });
});

// On a real MongoDB older than 4.4 (the chatbot's mongo:4.2.20), when CI points MONGODB_OLD_URI at one.
(process.env.MONGODB_OLD_URI ? describe : describe.skip)('start-up against a real MongoDB older than 4.4 (MONGODB_OLD_URI)', function () {
  this.timeout(30_000);
  it('refuses at once with one line naming the server version and the minimum', async () => {
    const running = await startService({ MONGODB_URI: process.env.MONGODB_OLD_URI, STORE_TIMEOUT_MS: '2000' }, { waitUntilReady: false });
    try {
      const error = await running.service.whenInitialized().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(StartupRefusal);
      expect((error as Error).message).to.match(/is version 4\.[0-2] .*needs MongoDB 4\.4 or later/);
    } finally {
      await running.stop();
    }
  });
});
