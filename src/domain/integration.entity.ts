// The Integration entity: one channel integration of the chatbot, with its settings and version.
import { ValidationError, type FieldError } from './errors';
import {
  DESCRIPTION_MAX_LENGTH,
  ID_MAX_LENGTH,
  NAME_MAX_LENGTH,
  isPlainObject,
  isValidId,
  settingsSafetyViolations,
  settingsShapeViolations,
  type Settings,
} from './integration-rules';

/** The record as it travels: dates as ISO-8601 strings. */
export interface IntegrationPrimitives {
  id: string;
  name: string;
  description: string;
  status: boolean;
  settings: Settings;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** What a write may change; a field left undefined stays as it is. `settings` replaces the whole object. */
export interface IntegrationChanges {
  name?: string;
  description?: string;
  status?: boolean;
  settings?: Settings;
}

export interface NewIntegration {
  id: string;
  name: string;
  description: string;
  status: boolean;
  settings: Settings;
}

export class Integration {
  private constructor(
    readonly id: string,
    readonly name: string,
    readonly description: string,
    readonly status: boolean,
    readonly settings: Settings,
    readonly version: number,
    readonly createdAt: Date,
    readonly updatedAt: Date,
  ) {}

  /** A new record at version 1; throws ValidationError when it breaks a rule. */
  static create(props: NewIntegration, now: Date): Integration {
    const errors: FieldError[] = isValidId(props.id)
      ? []
      : [{ field: '/id', message: `must be a lowercase slug of 1-${ID_MAX_LENGTH} characters ([a-z0-9][a-z0-9_-]*)` }];
    errors.push(...Integration.changeViolations(props.id, props));
    if (errors.length > 0) throw new ValidationError(errors);
    return new Integration(props.id, props.name, props.description, props.status, structuredClone(props.settings), 1, now, now);
  }

  /** Rebuilds a stored record as it is: stored data is read, never refused. */
  static fromPrimitives(p: IntegrationPrimitives): Integration {
    return new Integration(p.id, p.name, p.description, p.status, structuredClone(p.settings), p.version, new Date(p.createdAt), new Date(p.updatedAt));
  }

  /** Throws ValidationError unless every present field of `changes` obeys the rules for integration `id`. */
  static assertValidChanges(id: string, changes: IntegrationChanges): void {
    const errors = Integration.changeViolations(id, changes);
    if (errors.length > 0) throw new ValidationError(errors);
  }

  private static changeViolations(id: string, changes: IntegrationChanges): FieldError[] {
    const errors: FieldError[] = [];
    const { name, description, status, settings } = changes as Record<keyof IntegrationChanges, unknown>;
    if (name !== undefined && (typeof name !== 'string' || name.length < 1 || name.length > NAME_MAX_LENGTH)) {
      errors.push({ field: '/name', message: `must be a string of 1-${NAME_MAX_LENGTH} characters` });
    }
    if (description !== undefined && (typeof description !== 'string' || description.length > DESCRIPTION_MAX_LENGTH)) {
      errors.push({ field: '/description', message: `must be a string of at most ${DESCRIPTION_MAX_LENGTH} characters` });
    }
    if (status !== undefined && typeof status !== 'boolean') {
      errors.push({ field: '/status', message: 'must be boolean' });
    }
    if (settings !== undefined) {
      if (!isPlainObject(settings)) errors.push({ field: '/settings', message: 'must be object' });
      else errors.push(...settingsSafetyViolations(settings), ...settingsShapeViolations(id, settings));
    }
    return errors;
  }

  /** This record with `changes` applied, one version later. */
  withChanges(changes: IntegrationChanges, now: Date): Integration {
    return new Integration(
      this.id,
      changes.name ?? this.name,
      changes.description ?? this.description,
      changes.status ?? this.status,
      structuredClone(changes.settings ?? this.settings),
      this.version + 1,
      this.createdAt,
      now,
    );
  }

  toPrimitives(): IntegrationPrimitives {
    return {
      id: this.id,
      name: this.name,
      description: this.description,
      status: this.status,
      settings: structuredClone(this.settings),
      version: this.version,
      createdAt: this.createdAt.toISOString(),
      updatedAt: this.updatedAt.toISOString(),
    };
  }
}
