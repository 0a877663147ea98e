import { inject, injectable } from 'inversify';
import { ValidationError, type FieldError } from '../domain/errors';
import type { Integration } from '../domain/integration.entity';
import { PatchIntegration, type PatchIntegrationInput } from './patch-integration.use-case';

/**
 * The admin UI's PUT: it sends back the whole record it read, so `name` and `description` are required;
 * `status` and `settings` may be left out and then stay as they are.
 */
@injectable()
export class UpdateIntegration {
  constructor(@inject(PatchIntegration) private readonly patch: PatchIntegration) {}

  async execute(input: PatchIntegrationInput): Promise<Integration> {
    const missing: FieldError[] = (['name', 'description'] as const)
      .filter((field) => input.changes[field] === undefined)
      .map((field) => ({ field: '', message: `must have required property '${field}'` }));
    if (missing.length > 0) throw new ValidationError(missing);
    return this.patch.execute(input);
  }
}
