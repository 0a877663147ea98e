// An optional field (one the field table gives no fallback) can be cleared: `null` in a PATCH removes it, and a
// required field cannot be cleared. Today's table has no optional field, so the service runs here from a copy of
// its source with one added — a single entry in src/domain/integration-fields.ts, as a developer would add it —
// started with tsx (npm run dev's way) and spoken to over HTTP like any client.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { ROOT, spawnService, type SpawnedService } from '../support/process';

const FIELDS = 'src/domain/integration-fields.ts';
const NOTE = "  note: { rule: text({ maxLength: 50 }), description: 'A note for the team.' },\n";

describe('an optional field', function () {
  this.timeout(30_000);
  let copy: string;
  let service: SpawnedService;
  let api: ReturnType<typeof request>;

  before(async () => {
    copy = mkdtempSync(path.join(tmpdir(), 'integrations-optional-'));
    for (const item of ['src', 'package.json', 'tsconfig.json'])
      cpSync(path.join(ROOT, item), path.join(copy, item), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    const table = readFileSync(path.join(copy, FIELDS), 'utf8');
    const withNote = table.replace(/^ {2}settings: \{$/m, `${NOTE}  settings: {`);
    expect(withNote, 'where the entry goes').to.not.equal(table);
    writeFileSync(path.join(copy, FIELDS), withNote);
    service = spawnService({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, [], {
      args: ['--import', 'tsx', 'src/main.ts'],
      cwd: copy,
    });
    api = request(`http://127.0.0.1:${await service.listening}`);
  });

  after(async () => {
    service?.child.kill('SIGTERM');
    await service?.exited;
    rmSync(copy, { recursive: true, force: true });
  });

  const read = async (): Promise<Record<string, unknown>> =>
    (await api.get('/integrations/chat_widget').expect(200)).body as Record<string, unknown>;

  it('is absent from a record that never had it, set by a PATCH, and cleared by a PATCH of null', async () => {
    const before = await read();
    expect(before).to.not.have.property('note');
    const set = await api.patch('/integrations/chat_widget').send({ note: 'call Priya first' }).expect(200);
    expect(set.body).to.include({ note: 'call Priya first', version: (before.version as number) + 1 });
    const cleared = await api.patch('/integrations/chat_widget').send({ note: null }).expect(200);
    expect(cleared.body).to.not.have.property('note');
    expect(cleared.body.version).to.equal((before.version as number) + 2);
    const after = await read();
    expect(after).to.not.have.property('note');
    expect(after.version).to.equal(cleared.body.version);
  });

  it('changes nothing when cleared again, and refuses null for a required field with a 422, writing nothing', async () => {
    const before = await read();
    const again = await api.patch('/integrations/chat_widget').send({ note: null }).expect(200);
    expect(again.body.version, 'no new version for no change').to.equal(before.version);
    const refused = await api.patch('/integrations/chat_widget').send({ name: null }).expect(422);
    expect(refused.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(refused.body.errors.map((e: { field: string }) => e.field)).to.include('/name');
    expect(await read()).to.deep.equal(before);
  });

  it('is documented: the API document marks it optional and says null clears it', async () => {
    const document = (await api.get('/openapi.json').expect(200)).body as {
      components: {
        schemas: Record<string, { properties?: Record<string, { description?: string }>; required?: string[] }>;
      };
    };
    const integration = document.components.schemas.Integration!;
    expect(integration.required).to.not.include('note');
    const patches = Object.entries(document.components.schemas).filter(([name]) => name.endsWith('IntegrationPatch'));
    expect(patches.length).to.be.above(0);
    for (const [name, schema] of patches) expect(schema.properties?.note?.description, name).to.match(/null clears it/);
  });
});
