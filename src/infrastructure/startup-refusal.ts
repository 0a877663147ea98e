// A fault no retry can mend (a missing key, an incompatible server, bad credentials, a conflicting
// index): the service says why in one line and exits 1, instead of retrying forever as "connecting".
export class StartupRefusal extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'StartupRefusal';
  }
}
