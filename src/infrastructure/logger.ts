// JSON logs with winston: one object per line on stdout, `time`, `level`, `msg` first, credentials redacted.
import type { Writable } from 'node:stream';
import winston from 'winston';
import type { LogFields, Logger } from '../application/logger.port';
import type { LogLevel } from './config';
import { redact, redactString } from './redact';

const line = winston.format.printf((info) => {
  const { level, message, timestamp, ...fields } = info;
  const record = { time: timestamp, level, msg: redactString(String(message)), ...(redact(fields) as Record<string, unknown>) };
  try {
    return JSON.stringify(record);
  } catch {
    return JSON.stringify({ time: timestamp, level, msg: redactString(String(message)), note: 'fields not serializable' });
  }
});

export class WinstonLogger implements Logger {
  private readonly winston: winston.Logger;

  /** Writes to stdout, or to `stream` when given (tests read what was logged). */
  constructor(level: LogLevel, stream?: Writable) {
    this.winston = winston.createLogger({
      level,
      levels: { error: 0, warn: 1, info: 2, debug: 3 },
      format: winston.format.combine(winston.format.timestamp(), line),
      transports: [stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console()],
    });
  }

  error(msg: string, fields?: LogFields): void {
    this.winston.log('error', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.winston.log('warn', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.winston.log('info', msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.winston.log('debug', msg, fields);
  }
}
