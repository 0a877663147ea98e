import { ObjectId } from 'bson';
import { expect } from 'chai';
import { ValidationError } from '../../src/domain/errors';
import { Integration } from '../../src/domain/integration.entity';
import { settingsSafetyViolations } from '../../src/domain/integration-rules';
import { T0, T1, anIntegration, facebookSettings } from '../support/integration.mother';

/** What the entity says of `changes` applied to a valid record `id`. */
function violations(id: string, changes: Record<string, unknown>): { field: string; message: string }[] {
  const base = id === 'facebook' ? anIntegration({ id, settings: facebookSettings() }) : anIntegration({ id });
  try {
    base.change(changes, T1);
    return [];
  } catch (error) {
    expect(error).to.be.instanceOf(ValidationError);
    return (error as ValidationError).errors;
  }
}

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < depth; level += 1) value = { child: value };
  return value;
}

describe('Integration', () => {
  describe('create', () => {
    it('starts at version 1 with both timestamps at creation time', () => {
      expect(anIntegration({}, T0).toPrimitives()).to.deep.include({
        version: 1,
        createdAt: T0.toISOString(),
        updatedAt: T0.toISOString(),
      });
    });

    for (const id of ['', 'Facebook', '-lead', 'with space', 'dot.ted', 'a'.repeat(65)]) {
      it(`refuses the id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 5)}…(${id.length})` : id)}`, () => {
        expect(() => anIntegration({ id }))
          .to.throw(ValidationError)
          .with.property('errors')
          .that.deep.includes({
            field: '/id',
            message: 'must be a lowercase slug of 1-64 characters ([a-z0-9][a-z0-9_-]*)',
          });
      });
    }

    it('accepts ids of 1 and 64 characters with digits, _ and -', () => {
      expect(anIntegration({ id: '7' }).id).to.equal('7');
      expect(anIntegration({ id: `a_${'-'.repeat(62)}` }).id).to.have.length(64);
    });

    it('keeps its own copy of the settings it was given', () => {
      const settings = { color: 'red' };
      const integration = anIntegration({ settings });
      settings.color = 'blue';
      expect(integration.settings.color).to.equal('red');
    });

    it('checks every field: a record that breaks a rule is never made', () => {
      const error = (() => {
        try {
          return Integration.create({ id: 'facebook', name: '', settings: { verify: 'v' } }, T0);
        } catch (e) {
          return e;
        }
      })();
      expect(error)
        .to.be.instanceOf(ValidationError)
        .with.property('errors')
        .that.deep.equals([
          { field: '/name', message: 'must be 1-100 characters long' },
          { field: '/settings/secret', message: 'is required' },
          { field: '/settings/page_access_token', message: 'is required' },
        ]);
    });

    it('is frozen all the way down', () => {
      const integration = anIntegration({ settings: { nested: { list: [1] } } });
      expect(Object.isFrozen(integration)).to.equal(true);
      expect(() => ((integration.settings.nested as { list: number[] }).list as number[]).push(2)).to.throw(TypeError);
    });
  });

  describe('the rules for changes', () => {
    it('accepts names of 1 to 100 characters and descriptions of 0 to 500', () => {
      expect(violations('custom', { name: 'x', description: '' })).to.deep.equal([]);
      expect(violations('custom', { name: 'x'.repeat(100), description: 'y'.repeat(500) })).to.deep.equal([]);
    });

    it('counts characters as people, JSON Schema and the old store did: an emoji is one', () => {
      expect(violations('chat_widget', { name: '😀'.repeat(100), description: '👍🏽'.repeat(250) })).to.deep.equal([]);
      expect(violations('chat_widget', { name: '😀'.repeat(101) }).map((e) => e.field)).to.deep.equal(['/name']);
      expect(violations('chat_widget', { description: `${'😀'.repeat(500)}!` }).map((e) => e.field)).to.deep.equal([
        '/description',
      ]);
    });

    it('refuses an empty or overlong name, an overlong description and a non-boolean status, naming each field', () => {
      expect(
        violations('custom', { name: '', description: 'y'.repeat(501), status: 'yes' }).map((e) => e.field),
      ).to.deep.equal(['/name', '/description', '/status']);
      expect(violations('custom', { name: 'x'.repeat(101) }).map((e) => e.field)).to.deep.equal(['/name']);
    });

    it('gives facebook exactly its three string settings', () => {
      expect(violations('facebook', { settings: facebookSettings() })).to.deep.equal([]);
      expect(violations('facebook', { settings: { verify: 'v', secret: 's' } })).to.deep.equal([
        { field: '/settings/page_access_token', message: 'is required' },
      ]);
      expect(violations('facebook', { settings: { ...facebookSettings(), secret: 42 } })).to.deep.equal([
        { field: '/settings/secret', message: 'must be string' },
      ]);
      expect(
        violations('facebook', { settings: { ...facebookSettings(), extra: 'x' } }).map((e) => e.field),
      ).to.deep.equal(['/settings/extra']);
    });

    it('lets chat_widget and unknown integrations take any plain object, but not an array', () => {
      expect(violations('chat_widget', { settings: {} })).to.deep.equal([]);
      expect(violations('telegram', { settings: { token_hint: 'x', nested: { list: [1, 2] } } })).to.deep.equal([]);
      expect(violations('chat_widget', { settings: ['a'] })).to.deep.equal([
        { field: '/settings', message: 'must be object' },
      ]);
    });

    it("refuses keys starting with '$', containing '.', or naming the prototype chain, at any depth", () => {
      const settings = JSON.parse(
        '{"$where": 1, "a.b": 2, "deep": {"__proto__": {"polluted": true}, "list": [{"constructor": 1, "prototype": ' +
          '2}]}}',
      );
      expect(violations('chat_widget', { settings }).map((e) => e.field)).to.deep.equal([
        '/settings/$where',
        '/settings/a.b',
        '/settings/deep/__proto__',
        '/settings/deep/list/0/constructor',
        '/settings/deep/list/0/prototype',
      ]);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('refuses settings values JSON cannot carry (infinities, NaN, a Date, an ObjectId, a RegExp), by place', () => {
      const settings = {
        ok: [1, 'two', null, true, { three: 3 }],
        big: Number.POSITIVE_INFINITY,
        deep: { list: [Number.NaN] },
      };
      const objects = { at: new Date(0), id: new ObjectId(), pattern: /x/ };
      expect(violations('chat_widget', { settings: { ...settings, ...objects } })).to.deep.equal(
        ['/settings/big', '/settings/deep/list/0', '/settings/at', '/settings/id', '/settings/pattern'].map(
          (field) => ({
            field,
            message: 'must be a JSON value: a string, a finite number, true, false, null, an array or an object',
          }),
        ),
      );
      expect(violations('chat_widget', { settings: { ok: settings.ok } })).to.deep.equal([]);
    });

    it('refuses text with half of a surrogate pair alone, which MongoDB would store as U+FFFD, and takes whole pairs', () => {
      const halves = { name: 'Chat \ud83d', description: '\ude00 widget' };
      const settings = { 'key\udc00': 1, greeting: 'hi \ud800', list: [{ deep: '\udbff' }], fine: 'hi 😀' };
      const message = 'must be well-formed Unicode: no half of a surrogate pair alone';
      expect(violations('chat_widget', { ...halves, settings })).to.deep.equal(
        ['/name', '/description', '/settings/key\udc00', '/settings/greeting', '/settings/list/0/deep'].map(
          (field) => ({ field, message }),
        ),
      );
      expect(
        violations('chat_widget', { name: 'Chat 😀', description: '😀 widget', settings: { fine: 'hi 😀' } }),
      ).to.deep.equal([]);
    });

    it('allows nesting 8 deep and refuses 9', () => {
      expect(settingsSafetyViolations(nested(8))).to.deep.equal([]);
      expect(settingsSafetyViolations(nested(9))).to.deep.equal([
        {
          field: '/settings/child/child/child/child/child/child/child/child',
          message: 'must not nest deeper than 8 levels',
        },
      ]);
    });

    it('allows 16 KiB of serialized settings and refuses a byte more', () => {
      const exactly = { blob: 'x'.repeat(16 * 1024 - '{"blob":""}'.length) };
      expect(settingsSafetyViolations(exactly)).to.deep.equal([]);
      expect(settingsSafetyViolations({ blob: `${exactly.blob}x` })).to.deep.equal([
        { field: '/settings', message: 'must not exceed 16384 bytes serialized (got 16385)' },
      ]);
    });

    it('counts bytes, not characters, toward the size limit', () => {
      const multiByte = { blob: 'é'.repeat(9000) }; // 9000 characters, 18000 bytes
      expect(settingsSafetyViolations(multiByte)).to.have.length(1);
    });
  });

  describe('change', () => {
    it('changes only what is given, replaces settings whole, bumps the version and keeps createdAt', () => {
      const before = anIntegration({ settings: { a: 1, b: 2 } }, T0);
      const after = before.change({ status: true, settings: { c: 3 } }, T1);
      expect(after.toPrimitives()).to.deep.equal({
        ...before.toPrimitives(),
        status: true,
        settings: { c: 3 },
        version: 2,
        updatedAt: T1.toISOString(),
      });
      expect(before.version).to.equal(1);
    });

    it('answers the very same record when nothing is given', () => {
      const before = anIntegration();
      expect(before.change({}, T1)).to.equal(before);
      expect(before.change({ name: undefined }, T1)).to.equal(before);
    });

    it('answers the very same record for values it already holds, settings compared whole and nested', () => {
      const settings = { color: 'blue', position: { side: 'right', offsets: [8, 16] }, greeting: null };
      const before = anIntegration({ name: 'Widget', status: true, settings }, T0);
      // A new copy of every value, as a whole-record PUT from the admin UI sends them.
      const same = JSON.parse(JSON.stringify({ name: 'Widget', status: true, settings }));
      expect(before.change(same, T1)).to.equal(before);
      for (const settingsNow of [
        { ...settings, position: { side: 'left', offsets: [8, 16] } },
        { ...settings, position: { side: 'right', offsets: [8, 16, 24] } },
        { ...settings, position: { side: 'right', offsets: [8, '16'] } },
        { ...settings, greeting: {} },
        { color: 'blue', position: { side: 'right', offsets: [8, 16] } },
      ]) {
        const after = before.change({ settings: settingsNow }, T1);
        expect(after.version, JSON.stringify(settingsNow)).to.equal(2);
        expect(after.settings).to.deep.equal(settingsNow);
      }
    });

    it("answers its fields in the record's own order, whatever order an edit names them in", () => {
      const before = anIntegration({ name: 'A', description: 'a' }, T0);
      const after = before.change({ description: 'b', name: 'B' }, T1);
      expect(after.toPrimitives()).to.deep.equal({
        ...before.toPrimitives(),
        name: 'B',
        description: 'b',
        version: 2,
        updatedAt: T1.toISOString(),
      });
      expect(Object.keys(after.toPrimitives())).to.deep.equal(Object.keys(before.toPrimitives()));
    });

    it('refuses the change the old withChanges stored: every rule it breaks, named', () => {
      const facebook = anIntegration({ id: 'facebook', settings: facebookSettings() });
      const settings = JSON.parse('{"verify": "v", "a.b": {"$where": 1}}');
      expect(() => facebook.change({ name: '', settings }, T1))
        .to.throw(ValidationError)
        .with.property('errors')
        .that.deep.equals([
          { field: '/name', message: 'must be 1-100 characters long' },
          { field: '/settings/a.b', message: "key must not contain '.'" },
          { field: '/settings/a.b/$where', message: "key must not start with '$'" },
          { field: '/settings/secret', message: 'is required' },
          { field: '/settings/page_access_token', message: 'is required' },
          { field: '/settings/a.b', message: 'is not a facebook setting (allowed: verify, secret, page_access_token)' },
        ]);
    });

    it('refuses a credential that looks like a value this service sealed (enc:), whatever the integration', () => {
      expect(
        violations('facebook', { settings: facebookSettings({ secret: 'enc:v2:deadbeef:AAAA:BBBB:CCCC' }) }),
      ).to.deep.equal([
        {
          field: '/settings/secret',
          message: 'must not start with "enc:": that prefix marks values this service sealed',
        },
      ]);
      expect(violations('custom', { settings: { page_access_token: 'enc:anything' } })).to.have.length(1);
      expect(violations('custom', { settings: { note: 'enc: is fine elsewhere' } })).to.deep.equal([]);
    });

    it('refuses a settings key holding NUL, which no store could keep', () => {
      expect(violations('chat_widget', { settings: { 'a\u0000b': 1 } })).to.deep.equal([
        { field: '/settings/a\u0000b', message: 'key must not contain the NUL character' },
      ]);
    });

    it('refuses settings nested thousands deep with one error, without overflowing the stack', () => {
      expect(violations('chat_widget', { settings: nested(20_000) })).to.deep.equal([
        {
          field: '/settings/child/child/child/child/child/child/child/child',
          message: 'must not nest deeper than 8 levels',
        },
      ]);
    });
  });

  describe('fromStored', () => {
    it('reads a stored record that fits as it is', () => {
      const stored = anIntegration({}, T0).toRecord();
      expect(Integration.fromStored(stored).toPrimitives()).to.deep.equal(anIntegration({}, T0).toPrimitives());
    });

    it("reads the old store's record through the legacy fitting: version 1, fallbacks, an extra facebook key left out", () => {
      const legacy = Integration.fromStored(
        { id: 'facebook', settings: { verify: 'v', secret: 's', page_access_token: 't', extra: 'x' } },
        T0,
      );
      expect(legacy.toPrimitives()).to.deep.equal({
        id: 'facebook',
        name: 'facebook',
        description: '',
        status: false,
        settings: { verify: 'v', secret: 's', page_access_token: 't' },
        version: 1,
        createdAt: T0.toISOString(),
        updatedAt: T0.toISOString(),
      });
      expect(legacy.change({ status: true }, T1).version).to.equal(2);
    });

    it('takes an explicit null version or time as absent, and a record without any time as created at the epoch', () => {
      const read = Integration.fromStored({ id: 'chat_widget', version: null, createdAt: null, settings: null });
      expect(read.toPrimitives()).to.deep.include({ version: 1, createdAt: new Date(0).toISOString(), settings: {} });
    });

    it('refuses a stored record whose id no record can have: there is no door that checks nothing', () => {
      for (const id of ['BAD ID/../x', '', 'Facebook'])
        expect(() => Integration.fromStored({ id }), id).to.throw(ValidationError);
      const doors = Object.getOwnPropertyNames(Integration).filter(
        (name) => typeof (Integration as unknown as Record<string, unknown>)[name] === 'function',
      );
      expect(doors.sort()).to.deep.equal(['checked', 'create', 'fromStored']);
    });
  });
});
