// Requests and responses are made by Node's constructors with Express's own prototypes (docs/design.md). Two
// rules keep that cheap, both easy to break without any other test failing: the objects must stay fast (V8 turns
// an object into a dictionary when its constructor is not linked to Node's: twice the memory, ten times the
// time to make), and their prototypes must be the app's own `app.request`/`app.response`, never replaced.
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { spawnService, type SpawnedService } from '../support/process';

const READ = 'shape-read-token-0123456789';
const ADMIN = 'shape-admin-token-0123456789';

interface Shape {
  url: string;
  status: number;
  fastRequest: boolean;
  fastResponse: boolean;
  expressRequest: boolean;
  expressResponse: boolean;
}

describe('request and response objects', function () {
  this.timeout(20_000);
  let service: SpawnedService;

  before(async () => {
    service = spawnService(
      { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', READ_TOKENS: READ, ADMIN_TOKENS: ADMIN },
      [path.join(__dirname, '../support/object-shape.mjs')],
    );
  });

  after(async () => {
    service.child.kill('SIGTERM');
    await service.exited;
  });

  it("stay fast and have the Express app's prototypes, on the direct read, Express's routes and refusals", async () => {
    const port = await service.listening;
    const api = request(`http://127.0.0.1:${port}`);
    await api.get('/integrations/facebook').set('Authorization', `Bearer ${READ}`).expect(200);
    await api.get('/integrations/facebook').expect(401);
    await api.get('/admin/integrations').set('Authorization', `Bearer ${ADMIN}`).expect(200);
    await api
      .patch('/admin/integrations/chat_widget')
      .set('Authorization', `Bearer ${ADMIN}`)
      .send({ status: true })
      .expect(200);
    await api.get('/no/such/route').expect(404);
    const shapes = (): Shape[] =>
      service
        .stderr()
        .split('\n')
        .filter((line) => line.startsWith('{"shape"'))
        .map((line) => (JSON.parse(line) as { shape: Shape }).shape);
    for (let i = 0; i < 50 && shapes().length < 5; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    const seen = shapes();
    expect(seen.map((s) => s.status)).to.deep.equal([200, 401, 200, 200, 404]);
    for (const shape of seen) {
      expect(shape, shape.url).to.include({
        fastRequest: true,
        fastResponse: true,
        expressRequest: true,
        expressResponse: true,
      });
    }
  });
});
