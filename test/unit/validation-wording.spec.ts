// One rule, one wording: what the HTTP edge (ajv) reports of a bad change reads exactly as what the
// domain reports of the same change, field by field.
import { expect } from 'chai';
import { BodyValidator } from '../../src/adapters/http/body-validator';
import { ValidationError, type FieldError } from '../../src/domain/errors';
import { anIntegration, facebookSettings, T1 } from '../support/integration.mother';

function errorsOf(run: () => unknown): FieldError[] {
  try {
    run();
    return [];
  } catch (error) {
    expect(error).to.be.instanceOf(ValidationError);
    return (error as ValidationError).errors;
  }
}

const sorted = (errors: FieldError[]): string[] => errors.map((e) => `${e.field} ${e.message}`).sort();

const CASES: [string, Record<string, unknown>][] = [
  ['facebook', { name: '' }],
  ['facebook', { name: 'x'.repeat(101), description: 'y'.repeat(501) }],
  ['facebook', { name: 42, status: 'yes' }],
  ['facebook', { settings: { verify: 'v' } }],
  ['facebook', { settings: { verify: 'v', secret: 1, page_access_token: 't', extra: 'x' } }],
  ['facebook', { settings: [] }],
  ['chat_widget', { settings: { $where: 1, 'a.b': { c: 2 } } }],
  ['chat_widget', { settings: 'red' }],
  ['chat_widget', { description: null }],
];

describe('validation wording', () => {
  const validator = new BodyValidator();

  for (const [id, body] of CASES) {
    it(`${id} ${JSON.stringify(body).slice(0, 70)}: the edge and the domain say the same`, () => {
      const base = id === 'facebook' ? anIntegration({ id, settings: facebookSettings() }) : anIntegration({ id });
      const atEdge = errorsOf(() => validator.assertValid('patch', id, body));
      const inDomain = errorsOf(() => base.change(body, T1));
      expect(atEdge).to.not.be.empty;
      expect(sorted(atEdge)).to.deep.equal(sorted(inDomain));
    });
  }
});
