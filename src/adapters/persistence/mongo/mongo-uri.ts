// MONGODB_URI as configuration sees it: checked for shape when the service starts, and described without
// any secret for the start-up log line. The driver is loaded only when there is a URI to check: a service on
// the in-memory store (and a start refused for its configuration) never loads it.
import type { MongoClient as Client } from 'mongodb';
import type { ConnectionString as Parsed } from 'mongodb-connection-string-url';

const driver = (): { MongoClient: typeof Client } => require('mongodb') as { MongoClient: typeof Client };
const connectionString = (): { ConnectionString: typeof Parsed } =>
  require('mongodb-connection-string-url') as { ConnectionString: typeof Parsed };

/** Throws, with a message fit for a config error line (no secret), when `uri` is not a connection string the driver
 * takes. */
export function checkMongoUri(uri: string, redact: (text: string) => string): void {
  try {
    // Parses only; no connection is made.
    new (driver().MongoClient)(uri);
  } catch (error) {
    throw new Error(`is not a MongoDB connection string (${redact((error as Error).message)})`);
  }
}

// Options of a connection string that hold a secret (proxyPassword, tlsCertificateKeyFilePassword, AWS
// session tokens in authMechanismProperties, …).
const SECRET_OPTION = /pass|secret|token|key|credential|authMechanismProperties/i;

/** The connection string without its user info and without the value of any option that holds a secret. */
export function describeMongoUri(uri: string): string {
  try {
    const parsed = new (connectionString().ConnectionString)(uri);
    const hadUser = parsed.username !== '' || parsed.password !== '';
    parsed.username = '';
    parsed.password = '';
    for (const name of [...parsed.searchParams.keys()])
      if (SECRET_OPTION.test(name)) parsed.searchParams.set(name, 'REDACTED');
    return hadUser ? parsed.toString().replace('://', '://[REDACTED]@') : parsed.toString();
  } catch {
    return '[unparseable connection string]';
  }
}
