// The logging port adapters write to; infrastructure backs it with winston.
export const LOGGER = Symbol.for('Logger');

export type LogFields = Record<string, unknown>;

export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
}

/** The one shape of an error in a log line: `{ err: { name, message, code?, cause?, stack? } }`. */
export function errorFields(
  error: unknown,
  { stack = true }: { stack?: boolean } = {},
): { err: Record<string, unknown> } {
  if (!(error instanceof Error)) return { err: { name: 'NonError', message: String(error) } };
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}` : undefined;
  return {
    err: {
      name: error.name,
      message: error.message,
      ...(code !== undefined ? { code } : {}),
      ...(cause !== undefined ? { cause } : {}),
      ...(stack && error.stack ? { stack: error.stack } : {}),
    },
  };
}
