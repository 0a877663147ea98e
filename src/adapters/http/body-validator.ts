// Validates request bodies against the schemas of integration.schemas.ts with ajv, reporting every
// broken rule as a FieldError (a JSON Pointer and a message).
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ValidationError, type FieldError } from '../../domain/errors';
import { FIXED_STRING_SETTINGS, pointer, settingsSafetyViolations } from '../../domain/integration-rules';
import { SAFE_SETTINGS_KEYWORD, patchBodySchema, putBodySchema, settingsSchemaFor, type JsonSchema } from './integration.schemas';

export type BodyKind = 'put' | 'patch';

export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
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
    if (!validate(body)) throw new ValidationError((validate.errors ?? []).map(toFieldError));
  }

  private validatorFor(kind: BodyKind, id: string): ValidateFunction {
    // Integrations with a fixed settings schema get their own validator; every other id shares one.
    const key = `${kind}:${id in FIXED_STRING_SETTINGS ? id : '*'}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      const settings: JsonSchema = settingsSchemaFor(id);
      validate = this.ajv.compile(kind === 'put' ? putBodySchema(settings) : patchBodySchema(settings));
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

function toFieldError(error: ErrorObject): FieldError {
  const params = error.params as Record<string, string>;
  switch (error.keyword) {
    case 'required':
      return { field: pointer(error.instancePath, params.missingProperty), message: 'is required' };
    case 'additionalProperties':
      return { field: pointer(error.instancePath, params.additionalProperty), message: 'is not a known field' };
    case SAFE_SETTINGS_KEYWORD:
      return { field: params.field, message: error.message ?? 'is not allowed' };
    default:
      return { field: error.instancePath, message: error.message ?? 'is invalid' };
  }
}
