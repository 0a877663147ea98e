// /metrics: the series an operator's dashboards and alerts rely on exist, and move.
import { EventEmitter } from 'node:events';
import { METHODS, request as httpRequest } from 'node:http';
import { expect } from 'chai';
import type { MongoClient } from 'mongodb';
import request from 'supertest';
import { watchPool } from '../../src/adapters/persistence/mongo/mongo-pool';
import { Metrics } from '../../src/infrastructure/metrics';
import { sample } from '../support/prometheus';
import { startService, type RunningService } from '../support/service';

describe('metrics', () => {
  let running: RunningService;
  const scrape = async () => (await request(running.url).get('/metrics').expect(200)).text;

  beforeEach(async () => {
    running = await startService();
  });

  afterEach(async () => {
    await running.stop();
  });

  it('include the Node.js process defaults', async () => {
    const text = await scrape();
    expect(sample(text, 'process_cpu_user_seconds_total')).to.be.a('number');
    expect(sample(text, 'nodejs_heap_size_used_bytes')).to.be.above(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).to.be.a('number');
  });

  it('show every store operation and failure kind at 0 before the first failure, so an alert sees the first', async () => {
    const text = await scrape();
    for (const operation of ['list', 'findById', 'replace', 'insertMissing', 'ping']) {
      for (const kind of ['unavailable', 'unexpected']) {
        expect(sample(text, 'store_operation_errors_total', { operation, kind }), `${operation} ${kind}`).to.equal(0);
      }
    }
  });

  it('count requests by method, route template (never the raw id) and status', async () => {
    const before = await scrape();
    const labels = { method: 'GET', route: '/integrations/:id', status: '200' };
    const countBefore = sample(before, 'http_request_duration_seconds_count', labels) ?? 0;
    await request(running.url).get('/integrations/facebook').expect(200);
    await request(running.url).get('/integrations/chat_widget').expect(200);
    await request(running.url).get('/integrations/no-such-id').expect(404);
    await request(running.url).get('/random/path/123').expect(404);
    const after = await scrape();
    expect(sample(after, 'http_request_duration_seconds_count', labels)).to.equal(countBefore + 2);
    expect(sample(after, 'http_request_duration_seconds_count', { ...labels, status: '404' })).to.equal(1);
    expect(
      sample(after, 'http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' }),
    ).to.equal(1);
    expect(after).to.not.match(/route="[^"]*(facebook|chat_widget|no-such-id|random)/);
    expect(sample(after, 'http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).to.equal(countBefore + 2);
  });

  it('label every method the API does not answer OTHER: a sweep of all Node knows adds one series, not one per method', async () => {
    for (const method of METHODS.filter((m) => m !== 'CONNECT')) {
      await new Promise<void>((resolve) => {
        const req = httpRequest(`${running.url}/integrations`, { method, agent: false }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => resolve());
        req.end();
      });
    }
    const methods = new Set(
      [...(await scrape()).matchAll(/^http_request_duration_seconds_count\{method="([^"]+)"/gm)].map((m) => m[1]),
    );
    expect(['GET', 'HEAD', 'OPTIONS', 'OTHER', 'PATCH', 'POST', 'PUT']).to.include.members([...methods]);
    expect(methods).to.include('OTHER');
  });

  it('count store operations by operation', async () => {
    const before = sample(await scrape(), 'store_operations_total', { operation: 'findById' }) ?? 0;
    await request(running.url).get('/integrations/facebook').expect(200);
    await request(running.url).patch('/integrations/facebook').send({ status: true }).expect(200);
    const after = await scrape();
    // The GET reads once; the PATCH reads the record it changes, then replaces it.
    expect(sample(after, 'store_operations_total', { operation: 'findById' })).to.equal(before + 2);
    expect(sample(after, 'store_operations_total', { operation: 'replace' })).to.equal(1);
    expect(sample(after, 'store_operations_total', { operation: 'insertMissing' })).to.equal(1);
  });

  it('expose the MongoDB pool gauges', async () => {
    const text = await scrape();
    expect(text).to.include('# TYPE mongodb_pool_connections_in_use gauge');
    expect(sample(text, 'mongodb_pool_connections_in_use')).to.equal(0);
  });
});

describe('metrics of a store that fails', () => {
  let running: RunningService;

  afterEach(async () => {
    await running.stop();
  });

  it('count store errors by operation and kind', async () => {
    running = await startService(
      { MONGODB_URI: 'mongodb://127.0.0.1:1/?directConnection=true', STORE_TIMEOUT_MS: '300' },
      { waitUntilReady: false },
    );
    await request(running.url).get('/integrations').expect(503);
    const text = (await request(running.url).get('/metrics').expect(200)).text;
    expect(sample(text, 'store_operation_errors_total', { operation: 'list', kind: 'unavailable' })).to.equal(1);
  });
});

describe('MongoDB pool gauges', () => {
  const at = (connectionId: number, address = 'db:27017') => ({ address, connectionId });

  it('follow the driver connection-pool (CMAP) events, connection by connection', async () => {
    const metrics = new Metrics();
    const client = new EventEmitter();
    watchPool(client as unknown as MongoClient, metrics);
    client.emit('connectionCreated', at(1));
    client.emit('connectionCreated', at(2));
    client.emit('connectionCheckedOut', at(1));
    client.emit('connectionCheckedOut', at(2));
    client.emit('connectionCheckedIn', at(2));
    const text = await metrics.render();
    expect(sample(text, 'mongodb_pool_connections_in_use')).to.equal(1);
    expect(sample(text, 'mongodb_pool_connections_open')).to.equal(2);
    client.emit('connectionClosed', at(2));
    expect(sample(await metrics.render(), 'mongodb_pool_connections_open')).to.equal(1);
  });

  it('stay exact when a connection dies checked out, events repeat, or a pool closes', async () => {
    const metrics = new Metrics();
    const client = new EventEmitter();
    watchPool(client as unknown as MongoClient, metrics);
    for (const id of [1, 2, 3]) client.emit('connectionCreated', at(id));
    client.emit('connectionCreated', at(1, 'other:27017'));
    client.emit('connectionCheckedOut', at(1));
    client.emit('connectionClosed', at(1)); // a network error while in use: never checked in
    client.emit('connectionClosed', at(1)); // reported twice
    client.emit('connectionCheckedOut', at(2));
    client.emit('connectionPoolClosed', { address: 'db:27017' });
    const text = await metrics.render();
    expect(sample(text, 'mongodb_pool_connections_in_use')).to.equal(0);
    expect(sample(text, 'mongodb_pool_connections_open')).to.equal(1);
  });
});
