// /docs: Swagger UI from the swagger-ui-dist package, served by this process, so the page works offline.
import path from 'node:path';
import type { Response } from 'express';
// The package's index also loads the 1.5 MB browser bundle into Node; only the path helper is needed.
import getAbsoluteFSPath = require('swagger-ui-dist/absolute-path');
import { HttpProblem, problems } from './problem';
import type { HttpResponse, RouteRequest } from './request-context';

// A Map, not an object literal: a client's file name is never looked up on Object.prototype.
const ASSETS = new Map<string, string>([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ['favicon-32x32.png', 'image/png'],
]);

export const DOCS_PAGE = `<!doctype html>
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
export const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  validatorUrl: null,
  deepLinking: true,
  layout: 'BaseLayout',
});
`;

const root = getAbsoluteFSPath();

/** Sends one of the page's files from swagger-ui-dist; an unknown name is no route. */
export function sendDocsAsset(req: RouteRequest, res: HttpResponse): void {
  const file = req.params.file!;
  const type = ASSETS.get(file);
  if (!type) throw new HttpProblem(problems.noRoute(`No file ${file} under /docs/assets.`));
  (res as unknown as Response).sendFile(path.join(root, file), {
    headers: { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' },
  });
}
