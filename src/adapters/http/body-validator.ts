// Validates request bodies against the schemas of integration.schemas.ts with ajv. ajv says whether a body
// breaks a rule and which field; what is wrong is said by that field's own rule (its kind's wording, see
// domain/field-rules.ts), so the edge and the domain word every broken rule the same.
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ValidationError, type FieldError } from '../../domain/errors';
import { wording, type FieldRule } from '../../domain/field-rules';
import { WRITABLE_FIELDS, isWritableField } from '../../domain/integration-fields';
import {
  ID_RULE,
  SAFE_SETTINGS_KEYWORD,
  fixedSettingsOf,
  pointer,
  settingsSafetyViolations,
} from '../../domain/integration-rules';
import { patchBodySchema, putBodySchema } from './integration.schemas';

export type BodyKind = 'put' | 'patch';

export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  ajv.addKeyword({
    keyword: SAFE_SETTINGS_KEYWORD,
    schemaType: 'boolean',
    validate: (enabled: boolean, data: unknown) => !enabled || settingsSafetyViolations(data, '').length === 0,
  });
  return ajv;
}

export class BodyValidator {
  private readonly ajv = createAjv();
  private readonly compiled = new Map<string, ValidateFunction>();

  /** Throws ValidationError listing every problem of `body` as a PUT or PATCH of integration `id`. */
  assertValid(kind: BodyKind, id: string, body: unknown): void {
    const validate = this.validatorFor(kind, id);
    const errors = validate(body) ? [] : wordingOf(validate.errors ?? [], id, body);
    // The body's id, when sent, must name the record of the path: an id never changes.
    const bodyId = (body as { id?: unknown }).id;
    if (bodyId !== undefined && bodyId !== id && !errors.some((e) => e.field === '/id'))
      errors.push({ field: '/id', message: wording.idMismatch(id) });
    if (errors.length > 0) throw new ValidationError(errors);
  }

  private validatorFor(kind: BodyKind, id: string): ValidateFunction {
    // Integrations with a fixed settings schema get their own validator; every other id shares one.
    const fixed = fixedSettingsOf(id) ? id : undefined;
    const key = `${kind}:${fixed ?? '*'}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(kind === 'put' ? putBodySchema(fixed) : patchBodySchema(fixed));
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

/** The field errors of a body ajv refused: each top-level field it names is worded by that field's rule. */
function wordingOf(ajvErrors: readonly ErrorObject[], id: string, body: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const fields = new Set<string>();
  for (const error of ajvErrors) {
    const params = error.params as Record<string, string>;
    if (error.instancePath === '' && error.keyword === 'required')
      errors.push({ field: pointer('', params.missingProperty!), message: wording.required });
    else if (error.instancePath === '' && error.keyword === 'additionalProperties')
      errors.push({ field: pointer('', params.additionalProperty!), message: wording.unknownField });
    else if (error.instancePath === '' && error.keyword === 'type')
      errors.push({ field: '', message: wording.type('object') });
    else fields.add(decodeSegment(error.instancePath.split('/')[1] ?? ''));
  }
  const given = body as Record<string, unknown>;
  for (const field of fields) {
    const rule: FieldRule | undefined =
      field === 'id' ? ID_RULE : isWritableField(field) ? (WRITABLE_FIELDS[field].rule as FieldRule) : undefined;
    const worded = rule?.violations(given[field], `/${field}`, id) ?? [];
    // A rule and its schema say the same (test/unit/validation-wording.spec.ts); should they ever not, say something.
    errors.push(...(worded.length > 0 ? worded : [{ field: `/${field}`, message: 'is not valid' }]));
  }
  return errors;
}

function decodeSegment(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
