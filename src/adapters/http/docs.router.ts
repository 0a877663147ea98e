// /docs: Swagger UI from the swagger-ui-dist package, served by this process, so the page works offline.
import path from 'node:path';
import { Router } from 'express';
// The package's index also loads the 1.5 MB browser bundle into Node; only the path helper is needed.
import getAbsoluteFSPath = require('swagger-ui-dist/absolute-path');
import { namedRoute } from './request-context';

// A Map, not an object literal: a client's file name is never looked up on Object.prototype.
const ASSETS = new Map<string, string>([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ['favicon-32x32.png', 'image/png'],
]);

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>integrations-service API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// Our own initializer: the package's points at a public demo, and its validator badge calls a public service.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  validatorUrl: null,
  deepLinking: true,
  layout: 'BaseLayout',
});
`;

export function docsRouter(): Router {
  const root = getAbsoluteFSPath();
  const router = Router();
  namedRoute(router, '/docs', '/').get((_req, res) => {
    res.type('html').send(PAGE);
  });
  namedRoute(router, '/docs/init.js', '/init.js').get((_req, res) => {
    res.type('text/javascript').send(INIT);
  });
  namedRoute(router, '/docs/assets/:file', '/assets/:file').get((req, res, next) => {
    const file = req.params.file as string;
    const type = ASSETS.get(file);
    if (!type) return next();
    res.sendFile(path.join(root, file), { headers: { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' } });
  });
  return router;
}
