// Preloaded into the service (node --import) by test/http/object-shape.spec.ts: for each request, once answered,
// prints to stderr one line saying whether V8 keeps its request and response objects fast (not dictionaries) and
// whether their own prototypes are the Express app's (`app.request`/`app.response` carry `app`).
import http from 'node:http';
import v8 from 'node:v8';

v8.setFlagsFromString('--allow-natives-syntax');
const fast = new Function('o', 'return %HasFastProperties(o)');
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, ...args) {
  if (event === 'request') {
    const [req, res] = args;
    res.once('finish', () => {
      const shape = {
        url: req.url,
        status: res.statusCode,
        fastRequest: fast(req),
        fastResponse: fast(res),
        expressRequest: Object.hasOwn(Object.getPrototypeOf(req), 'app'),
        expressResponse: Object.hasOwn(Object.getPrototypeOf(res), 'app'),
      };
      process.stderr.write(`${JSON.stringify({ shape })}\n`);
    });
  }
  return emit.call(this, event, ...args);
};
