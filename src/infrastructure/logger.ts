// JSON logs with winston, as its documentation builds them: a Logger with this service's levels, one format
// that writes the line (`time`, `level`, `msg` first, then the fields, credentials redacted: redact.ts), and a
// Stream transport to stdout (or the stream a test reads). One JSON object per line.
import type { Writable } from 'node:stream';
import { MESSAGE } from 'triple-beam';
import winston from 'winston';
import type { LogFields, Logger } from '../application/logger.port';
import type { LogLevel } from './config';
import { redactField, redactString } from './redact';

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

// The fields travel beside winston's `level` and `message` under a key of their own, so a field named `message`,
// `level` or `time` never changes the line's own (winston merges a plain meta object into the line).
const FIELDS = Symbol('fields');
const OWN_KEYS = new Set(['time', 'level', 'msg']);

// The time of the last line, kept for the lines of the same millisecond (request lines under load).
let stamp = { ms: Number.NaN, iso: '' };
function timeNow(): string {
  const ms = Date.now();
  if (ms !== stamp.ms) stamp = { ms, iso: new Date(ms).toISOString() };
  return stamp.iso;
}

/** The line: `time`, `level`, `msg`, then every field but those three, redacted. */
const jsonLine = winston.format((info) => {
  const fields = (info as { [FIELDS]?: LogFields })[FIELDS];
  const line: Record<string, unknown> = {
    time: timeNow(),
    level: info.level,
    msg: redactString(String(info.message)),
  };
  if (fields !== undefined) {
    for (const name of Object.keys(fields)) {
      if (!OWN_KEYS.has(name)) line[name] = redactField(name, fields[name]);
    }
  }
  let text: string;
  try {
    text = JSON.stringify(line);
  } catch {
    text = JSON.stringify({ time: line.time, level: line.level, msg: line.msg, note: 'fields not serializable' });
  }
  (info as { [MESSAGE]?: string })[MESSAGE] = text;
  return info;
});

export class WinstonLogger implements Logger {
  private readonly logger: winston.Logger;

  /** Writes to stdout, or to `stream` when given (tests read what was logged). */
  constructor(level: LogLevel, stream: Writable = process.stdout) {
    this.logger = winston.createLogger({
      levels: LEVELS,
      level,
      format: jsonLine(),
      transports: [new winston.transports.Stream({ stream })],
    });
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  private log(level: LogLevel, message: string, fields?: LogFields): void {
    // winston formats every line it is given and leaves the level to its transports: a line of a level turned off
    // (a probe's at info) is not handed to it at all.
    if (!this.logger.isLevelEnabled(level)) return;
    this.logger.log({ level, message, [FIELDS]: fields });
  }
}
