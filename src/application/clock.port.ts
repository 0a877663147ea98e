// Time as a port, so use cases stamp records with a time tests can control.
export const CLOCK = Symbol.for('Clock');

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
