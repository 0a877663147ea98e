// Bad input gets a clear problem+json error and changes nothing.
import { expect } from 'chai';
import request from 'supertest';
import { startService, type RunningService } from '../support/service';
import { facebookSettings } from '../support/integration.mother';

function nestedSettings(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let level = 1; level < depth; level += 1) value = { child: value };
  return value;
}

interface BadBody {
  title: string;
  method: 'put' | 'patch';
  id?: string;
  contentType?: string;
  body: string | Buffer;
  status: number;
  /** For 422: a field every answer must name. */
  field?: string;
}

const wholeRecord = (extra: Record<string, unknown>) =>
  JSON.stringify({ name: 'Facebook Messenger', description: 'x', ...extra });

const BAD_BODIES: BadBody[] = [
  { title: 'malformed JSON', method: 'put', body: '{"name": "x", "description": ', status: 400 },
  { title: 'a JSON string instead of an object', method: 'patch', body: '"status"', status: 400 },
  { title: 'a JSON array instead of an object', method: 'patch', body: '[{"status": true}]', status: 422, field: '' },
  {
    title: 'an operator object as the name',
    method: 'put',
    body: wholeRecord({ name: { $ne: null } }),
    status: 422,
    field: '/name',
  },
  {
    title: 'an operator object as a facebook setting',
    method: 'patch',
    body: JSON.stringify({ settings: { ...facebookSettings(), secret: { $gt: '' } } }),
    status: 422,
    field: '/settings/secret',
  },
  {
    title: "a settings key starting with '$'",
    method: 'patch',
    id: 'chat_widget',
    body: JSON.stringify({ settings: { $where: 'sleep(1000)' } }),
    status: 422,
    field: '/settings/$where',
  },
  {
    title: 'a dotted settings key',
    method: 'patch',
    id: 'chat_widget',
    body: JSON.stringify({ settings: { 'theme.color': 'red' } }),
    status: 422,
    field: '/settings/theme.color',
  },
  {
    title: 'a __proto__ settings key',
    method: 'patch',
    id: 'chat_widget',
    body: '{"settings": {"__proto__": {"isAdmin": true}}}',
    status: 422,
    field: '/settings/__proto__',
  },
  {
    // JSON.parse reads 1e400 as Infinity, which JSON has no form for: the answer would carry null.
    title: 'a settings number too large for a double',
    method: 'patch',
    id: 'chat_widget',
    body: '{"settings": {"zoom": 1e400}}',
    status: 422,
    field: '/settings/zoom',
  },
  {
    // Valid JSON, but no UTF-8 text holds it: MongoDB would keep U+FFFD instead, and a read answer other text.
    title: 'a name holding half of a surrogate pair',
    method: 'patch',
    id: 'chat_widget',
    body: '{"name": "Chat \\ud83d"}',
    status: 422,
    field: '/name',
  },
  {
    // The decoder would keep U+FFFD for each broken sequence: a name the client never sent.
    title: 'a body whose bytes are not UTF-8',
    method: 'patch',
    id: 'chat_widget',
    body: Buffer.concat([Buffer.from('{"name": "Chat '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    status: 400,
  },
  {
    title: 'a body holding half of a surrogate pair encoded as if it were a character (CESU-8)',
    method: 'patch',
    id: 'chat_widget',
    body: Buffer.concat([Buffer.from('{"name": "Chat '), Buffer.from([0xed, 0xa0, 0xbd]), Buffer.from('"}')]),
    status: 400,
  },
  {
    title: 'a constructor key deep inside settings',
    method: 'patch',
    id: 'chat_widget',
    body: '{"settings": {"a": {"b": [{"constructor": {"prototype": 1}}]}}}',
    status: 422,
    field: '/settings/a/b/0/constructor',
  },
  {
    title: 'settings nested 9 deep',
    method: 'patch',
    id: 'chat_widget',
    body: JSON.stringify({ settings: nestedSettings(9) }),
    status: 422,
    field: '/settings/child/child/child/child/child/child/child/child',
  },
  {
    title: 'settings over 16 KiB',
    method: 'patch',
    id: 'chat_widget',
    body: JSON.stringify({ settings: { blob: 'x'.repeat(17 * 1024) } }),
    status: 422,
    field: '/settings',
  },
  {
    title: 'a body over the 64 KiB limit',
    method: 'put',
    body: wholeRecord({ settings: { blob: 'x'.repeat(70 * 1024) } }),
    status: 413,
  },
  {
    title: 'status as a string',
    method: 'patch',
    body: JSON.stringify({ status: 'true' }),
    status: 422,
    field: '/status',
  },
  {
    title: 'settings as an array',
    method: 'patch',
    id: 'chat_widget',
    body: JSON.stringify({ settings: ['a'] }),
    status: 422,
    field: '/settings',
  },
  {
    title: 'a name over 100 characters',
    method: 'put',
    body: wholeRecord({ name: 'n'.repeat(101) }),
    status: 422,
    field: '/name',
  },
  {
    title: 'a description over 500 characters',
    method: 'patch',
    body: JSON.stringify({ description: 'd'.repeat(501) }),
    status: 422,
    field: '/description',
  },
  {
    title: 'an unknown top-level field (a typo)',
    method: 'patch',
    body: JSON.stringify({ stauts: true }),
    status: 422,
    field: '/stauts',
  },
  {
    title: 'an unknown facebook setting',
    method: 'patch',
    body: JSON.stringify({ settings: { ...facebookSettings(), app_id: '1' } }),
    status: 422,
    field: '/settings/app_id',
  },
  {
    title: 'facebook settings missing a field',
    method: 'put',
    body: wholeRecord({ settings: { verify: 'v', secret: 's' } }),
    status: 422,
    field: '/settings/page_access_token',
  },
  { title: 'a wrong content type', method: 'put', contentType: 'text/plain', body: wholeRecord({}), status: 415 },
  {
    title: 'a form body',
    method: 'patch',
    contentType: 'application/x-www-form-urlencoded',
    body: 'status=true',
    status: 415,
  },
  {
    title: 'an unsupported charset',
    method: 'patch',
    contentType: 'application/json; charset=latin1',
    body: JSON.stringify({ status: true }),
    status: 415,
  },
];

describe('bad input', () => {
  let running: RunningService;
  const api = () => request(running.url);

  before(async () => {
    running = await startService();
  });

  after(async () => {
    await running.stop();
  });

  for (const bad of BAD_BODIES) {
    const id = bad.id ?? 'facebook';
    it(`answers ${bad.title} with ${bad.status} problem+json and changes nothing`, async () => {
      const before = (await api().get(`/integrations/${id}`).expect(200)).body;
      const res = await api()
        [bad.method](`/admin/integrations/${id}`)
        .set('Content-Type', bad.contentType ?? 'application/json')
        // Bytes as they are: superagent would send a Buffer under a JSON type as the JSON of its fields.
        .serialize((body: unknown) => body as string)
        .send(bad.body)
        .expect(bad.status)
        .expect('Content-Type', /^application\/problem\+json/);
      expect(res.body).to.include({ status: bad.status });
      expect(res.body.title).to.be.a('string').and.not.empty;
      expect(res.body.detail).to.be.a('string').and.not.empty;
      if (bad.field !== undefined) {
        expect(res.body.errors.map((e: { field: string }) => e.field)).to.include(bad.field);
        for (const error of res.body.errors) expect(error.message).to.be.a('string').and.not.empty;
      }
      expect(JSON.stringify(res.body)).to.not.match(/\bat [\w.<>]+ \(|node_modules|SyntaxError/);
      expect((await api().get(`/integrations/${id}`).expect(200)).body).to.deep.equal(before);
      expect(({} as Record<string, unknown>).isAdmin).to.equal(undefined);
    });
  }

  it('answers a PUT with no body at all with 415', async () => {
    await api().put('/integrations/facebook').expect(415);
  });
});
