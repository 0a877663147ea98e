// Validates request bodies against the schemas of integration.schemas.ts with ajv, reporting every
// broken rule as a FieldError (a JSON Pointer and a message).
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ValidationError, type FieldError } from '../../domain/errors';
import { ID_MAX_LENGTH, fixedSettingsOf, pointer, settingsSafetyViolations } from '../../domain/integration-rules';
import { messages } from '../../domain/validation-messages';
import { SAFE_SETTINGS_KEYWORD, patchBodySchema, putBodySchema, settingsSchemaFor, type JsonSchema } from './integration.schemas';

export type BodyKind = 'put' | 'patch';

export function createAjv(): Ajv2020 {
  // verbose: errors carry their schema, so a length error can be worded with both bounds, as the domain words it.
  const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
  addFormats(ajv);
  ajv.addKeyword({
    keyword: SAFE_SETTINGS_KEYWORD,
    schemaType: 'boolean',
    errors: true,
    validate: function safeSettings(this: unknown, enabled: boolean, data: unknown, _schema?: unknown, ctx?: { instancePath: string }) {
      if (!enabled) return true;
      const violations = settingsSafetyViolations(data, ctx?.instancePath ?? '');
      (safeSettings as unknown as { errors: Partial<ErrorObject>[] }).errors = violations.map((v) => ({
        keyword: SAFE_SETTINGS_KEYWORD,
        message: v.message,
        params: { field: v.field },
      }));
      return violations.length === 0;
    },
  });
  return ajv;
}

export class BodyValidator {
  private readonly ajv = createAjv();
  private readonly compiled = new Map<string, ValidateFunction>();

  /** Throws ValidationError listing every problem of `body` as a PUT or PATCH of integration `id`. */
  assertValid(kind: BodyKind, id: string, body: unknown): void {
    const validate = this.validatorFor(kind, id);
    const errors = validate(body) ? [] : (validate.errors ?? []).map((error) => toFieldError(error, id));
    // The body's id, when sent, must name the record of the path: an id never changes.
    const bodyId = (body as { id?: unknown }).id;
    if (bodyId !== undefined && bodyId !== id && !errors.some((e) => e.field === '/id')) errors.push({ field: '/id', message: messages.idMismatch(id) });
    if (errors.length > 0) throw new ValidationError(errors);
  }

  private validatorFor(kind: BodyKind, id: string): ValidateFunction {
    // Integrations with a fixed settings schema get their own validator; every other id shares one.
    const key = `${kind}:${fixedSettingsOf(id) ? id : '*'}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      const settings: JsonSchema = settingsSchemaFor(id);
      validate = this.ajv.compile(kind === 'put' ? putBodySchema(settings) : patchBodySchema(settings));
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

/** An ajv error in the domain's words (see validation-messages.ts). */
function toFieldError(error: ErrorObject, id: string): FieldError {
  const params = error.params as Record<string, string>;
  const schema = (error.parentSchema ?? {}) as { minLength?: number; maxLength?: number };
  switch (error.keyword) {
    case 'required':
      return { field: pointer(error.instancePath, params.missingProperty), message: messages.required };
    case 'additionalProperties': {
      const field = pointer(error.instancePath, params.additionalProperty);
      const fixed = error.instancePath === '/settings' ? fixedSettingsOf(id) : undefined;
      return { field, message: fixed ? messages.notASetting(id, fixed) : messages.unknownField };
    }
    case 'type':
      return { field: error.instancePath, message: messages.type(params.type) };
    case 'minLength':
    case 'maxLength':
      return { field: error.instancePath, message: messages.length(schema.minLength, schema.maxLength) };
    case 'pattern':
      return { field: error.instancePath, message: messages.idShape(ID_MAX_LENGTH) };
    case SAFE_SETTINGS_KEYWORD:
      return { field: params.field, message: error.message ?? 'is not allowed' };
    default:
      return { field: error.instancePath, message: error.message ?? 'is invalid' };
  }
}
