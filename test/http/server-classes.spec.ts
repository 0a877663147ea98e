// The service's server makes its requests and responses with Express's prototypes from the start (app.ts,
// serverClassesFor), so Express — which sets those prototypes on every request it takes — finds nothing to change
// and the objects keep their shape (README, Benchmarks: about twice what Express answers per second). These tests
// hold that to what a client and Express see: the objects reach Express already on its prototypes, they are still
// Node's, and Express's own request and response methods work on them.
import { IncomingMessage, ServerResponse, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { HttpApp } from '../../src/adapters/http/app';
import { HTTP_APP } from '../../src/infrastructure/tokens';
import { startService, type RunningService } from '../support/service';

const ADMIN = 'classes-admin-token-0123456789';

interface Arrival {
  onExpressPrototypes: boolean;
  nodes: boolean;
}

describe("the server's requests and responses reach Express on its prototypes", () => {
  let running: RunningService;
  let plain: Server;
  let arrivals: Arrival[];

  before(async () => {
    running = await startService({ ADMIN_TOKENS: ADMIN });
    const app = running.container.get<HttpApp>(HTTP_APP);
    // Express's app function calls app.handle for every request it is given: what it is given is looked at there,
    // before Express sets anything.
    const express = app.express as unknown as { handle: (req: object, res: object, next?: unknown) => void; request: object; response: object };
    const handle = express.handle;
    arrivals = [];
    express.handle = function (this: unknown, req: object, res: object, next?: unknown) {
      arrivals.push({
        onExpressPrototypes: Object.getPrototypeOf(req) === express.request && Object.getPrototypeOf(res) === express.response,
        nodes: req instanceof IncomingMessage && res instanceof ServerResponse,
      });
      return handle.call(this, req, res, next);
    };
    // The same listener on a server made as Node makes one: Express has to set its prototypes there.
    plain = createServer(app.listener);
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await new Promise((resolve) => plain.close(resolve));
    await running.stop();
  });

  const edit = (base: string): Promise<Response> =>
    fetch(`${base}/admin/integrations/chat_widget`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ status: true }),
    });

  it("the service's own server: already on them, still Node's, and Express's methods answer (body parsed, JSON sent)", async () => {
    arrivals.length = 0;
    const answer = await edit(running.url);
    expect(answer.status).to.equal(200);
    expect(((await answer.json()) as { status: boolean }).status).to.equal(true);
    expect(arrivals).to.deep.equal([{ onExpressPrototypes: true, nodes: true }]);
  });

  it('a server made as Node makes one: Express has to set them (what the service spares it)', async () => {
    arrivals.length = 0;
    const answer = await edit(`http://127.0.0.1:${(plain.address() as AddressInfo).port}`);
    expect(answer.status).to.equal(200);
    expect(arrivals).to.deep.equal([{ onExpressPrototypes: false, nodes: true }]);
  });
});
