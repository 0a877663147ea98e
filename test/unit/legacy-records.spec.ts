// The rules the migrations apply to what the old Python store left: duplicate ids, and records today's
// rules refuse (which the admin UI could then not save back).
import { ObjectId } from 'bson';
import { expect } from 'chai';
import { Integration } from '../../src/domain/integration.entity';
import { chooseAmongDuplicates, fitToRules } from '../../src/domain/legacy-records';
import { T1 } from '../support/integration.mother';

describe('legacy records', () => {
  describe('choosing among records with one id', () => {
    it('keeps the highest version (a record without one is at 1)', () => {
      const records = [{ _id: 'a' }, { _id: 'b', version: 3 }, { _id: 'c', version: 2 }];
      const choice = chooseAmongDuplicates(records);
      expect(choice.kept._id).to.equal('b');
      expect(choice.extras.map((r) => r._id)).to.deep.equal(['a', 'c']);
      expect(choice.why).to.equal('highest version (3)');
    });

    it('among equals keeps the first in natural order, the one the old store’s find_one served', () => {
      const choice = chooseAmongDuplicates([{ _id: 'first' }, { _id: 'second' }, { _id: 'third', version: 1 }]);
      expect(choice.kept._id).to.equal('first');
      expect(choice.extras.map((r) => r._id)).to.deep.equal(['second', 'third']);
      expect(choice.why).to.include('natural order');
    });
  });

  describe('fitting a record to today’s rules', () => {
    it('leaves a record that fits alone', () => {
      const fitted = fitToRules({
        id: 'facebook',
        name: 'F',
        description: '',
        status: true,
        settings: { verify: 'v', secret: 's', page_access_token: 't' },
      });
      expect(fitted.notes).to.deep.equal([]);
      expect(fitted.setAside).to.deep.equal({});
    });

    it(
      'sets aside a legacy facebook’s extra key and non-string value, fills a missing one, and the admin UI can ' +
        'then save it back',
      () => {
        const legacy = {
          id: 'facebook',
          name: 'Facebook',
          description: 'd',
          status: true,
          settings: { verify: 'v', secret: 42, page_token_old: 'x' },
        };
        const { fields, setAside, notes } = fitToRules(legacy as never);
        expect(fields.settings).to.deep.equal({ verify: 'v', secret: '', page_access_token: '' });
        expect(setAside).to.deep.equal({ settings: { secret: 42, page_token_old: 'x' } });
        expect(notes.join('; ')).to.include('page_token_old').and.include('secret').and.not.include('42');
        // What the admin UI does with it: the whole record back, one setting changed.
        const stored = Integration.fromStored({ ...legacy, ...fields } as never);
        const saved = stored.change(
          { ...stored.fields(), settings: { ...stored.settings, page_access_token: 'EAAB' } },
          T1,
        );
        expect(saved.version).to.equal(2);
        // Reading the record unfitted fits it the same way: what a read serves is what the migration stores.
        expect(Integration.fromStored(legacy as never).settings).to.deep.equal(fields.settings);
      },
    );

    it('gives settings: null, a missing name and a missing description their defaults', () => {
      const { fields, notes } = fitToRules({ id: 'chat_widget', settings: null });
      expect(fields).to.deep.equal({ name: 'chat_widget', description: '', status: false, settings: {} });
      expect(notes).to.have.length(4);
    });

    it('sets aside settings keys no store may hold, an over-long name, a non-boolean status', () => {
      const { fields, setAside } = fitToRules({
        id: 'chat_widget',
        name: 'n'.repeat(150),
        status: 'yes',
        settings: JSON.parse('{"color":"red","a.b":1,"deep":{"$x":1}}'),
      } as never);
      expect(fields.settings).to.deep.equal({ color: 'red' });
      expect(fields.name).to.have.length(100);
      expect(fields.status).to.equal(false);
      expect(setAside).to.deep.include({ name: 'n'.repeat(150), status: 'yes' });
      expect(Object.keys(setAside.settings as object)).to.deep.equal(['a.b', 'deep']);
    });

    it('cuts an over-long name to 100 characters as Python counted them, an emoji one, never half of one', () => {
      const name = `${'n'.repeat(99)}😀 and more`;
      const { fields, setAside } = fitToRules({ id: 'chat_widget', name } as never);
      expect(fields.name).to.equal(`${'n'.repeat(99)}😀`);
      expect(setAside.name).to.equal(name);
      // 100 emoji fit as they are: 100 characters, though 200 UTF-16 units.
      expect(fitToRules({ id: 'chat_widget', name: '😀'.repeat(100) } as never).fields.name).to.equal('😀'.repeat(100));
    });

    it('sets aside, as they are, settings values JSON cannot carry that the old store may hold', () => {
      const at = new Date(0);
      const id = new ObjectId();
      const { fields, setAside, notes } = fitToRules({
        id: 'chat_widget',
        name: 'Chat',
        settings: { color: 'red', at, nested: { id, size: 2 }, ratio: Number.NaN },
      } as never);
      expect(fields.settings).to.deep.equal({ color: 'red' });
      const aside = setAside.settings as Record<string, unknown>;
      expect(aside.at).to.equal(at);
      expect((aside.nested as Record<string, unknown>).id).to.equal(id);
      expect(aside.ratio).to.be.NaN;
      expect(notes.join(' ')).to.include('at: set aside (must be a JSON value');
    });

    it('sets aside a credential that looks sealed, and whole settings that are too large', () => {
      const sealedLooking = fitToRules({
        id: 'facebook',
        settings: { verify: 'v', secret: 'enc:v1:not-really', page_access_token: 't' },
      });
      expect(sealedLooking.fields.settings).to.deep.equal({ verify: 'v', page_access_token: 't', secret: '' });
      expect(sealedLooking.setAside).to.deep.equal({ settings: { secret: 'enc:v1:not-really' } });
      const large = fitToRules({ id: 'chat_widget', settings: { blob: 'x'.repeat(20_000) } });
      expect(large.fields.settings).to.deep.equal({});
      expect(large.setAside).to.deep.equal({ settings: { blob: 'x'.repeat(20_000) } });
    });
  });
});
