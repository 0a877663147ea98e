// Container tokens of the infrastructure's own pieces (the ports' tokens live beside their ports).
export const CONFIG = Symbol.for('Config');
export const METRICS = Symbol.for('Metrics');
export const STORE = Symbol.for('Store');
export const HTTP_APP = Symbol.for('HttpApp');
