// Preloaded into a spawned service by the process tests (node --import): a bug that surfaces after start, as an
// unhandled rejection or an uncaught exception (the kind FAULT_KIND says), when the test sends SIGUSR2.
const kind = process.env.FAULT_KIND;
process.on('SIGUSR2', () => {
  setImmediate(() => {
    if (kind === 'rejection') Promise.reject(new Error('a promise nobody awaited failed'));
    else if (kind === 'exception') throw new Error('a callback threw');
  });
});
