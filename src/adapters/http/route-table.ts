// The route table: each route declared once — its name, its paths, its methods, who may call each, what each
// answers — and everything else read from it: Express's routes (with the 405 of every method a route lacks),
// the direct read, the OpenAPI document (openapi.ts), the metric labels.
//
// The direct read: the routes marked `direct` have their GET answered straight from Node's request listener,
// by the same checks and handler Express runs for them, without Express's per-request work (docs/design.md). Which
// route a request goes to is decided as Express decides it: the routes in order, each path matched by
// path-to-regexp (Express 5's matcher) with Express's defaults, so the direct read answers only what Express would
// give to those routes. A route an earlier one shadows (its paths all taken by an earlier pattern) is refused when
// the table is mounted: it could never answer.
import type { Express, RequestHandler } from 'express';
// Express's own URL parser, with its per-request cache: the direct read sees the path Express would.
import parseurl = require('parseurl');
import { match, type MatchFunction } from 'path-to-regexp';
import type { JsonSchema } from '../../domain/field-rules';
import type { Access, Guard } from './auth';
import { HttpProblem, problems } from './problem';
import { tagRoute, type HttpRequest, type HttpResponse, type RouteName, type RouteRequest } from './request-context';

/** Every API route is served, unchanged, under both: the admin UI calls /admin/integrations. */
export const API_PREFIXES = ['/integrations', '/admin/integrations'] as const;

export type Method = 'GET' | 'PUT' | 'PATCH' | 'POST';
const METHOD_ORDER: readonly Method[] = ['GET', 'PUT', 'PATCH', 'POST'];

/** A response an operation documents: its description, body and the headers it carries (see openapi.ts). */
export interface ResponseDoc {
  description: string;
  /** Media type → schema; a problem response is given as `problem: true`. */
  content?: Record<string, JsonSchema>;
  problem?: boolean;
  /** Names of headers from the document's components (ETag, Cache-Control, Age, …). */
  headers?: readonly string[];
}

export interface OperationDoc {
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  /** Parameters other than the path's own (headers, queries). */
  parameters?: readonly JsonSchema[];
  requestBody?: JsonSchema;
  /** What this operation answers itself; the statuses every operation of its kind can answer are added (openapi.ts). */
  responses: Record<number, ResponseDoc>;
  /** Uses the store: may answer 503 when the store does not answer. */
  usesStore?: boolean;
}

export interface Operation {
  access: Access;
  /** The operation reads a JSON body: its content type is required, the body parsed, before the handler. */
  body?: 'json';
  handle(req: RouteRequest, res: HttpResponse): void | Promise<void>;
  doc: OperationDoc;
}

export interface RouteSpec {
  name: RouteName;
  /** The paths it answers, in Express's syntax (`/integrations/:id`); an API route lists both prefixes. */
  paths: readonly string[];
  methods: Partial<Record<Method, Operation>>;
  /** Its GET is answered directly from Node's listener (docs/design.md: the reads the bot runtime and admin UI make
   * most). */
  direct?: true;
  /** Left out of the OpenAPI document (the docs page's own files). */
  undocumented?: true;
}

/** The paths of an API route under both prefixes. */
export const underPrefixes = (path: string): string[] => API_PREFIXES.map((prefix) => `${prefix}${path}`);

/** The methods a route answers, as its Allow header lists them (HEAD wherever GET is). */
export function allowedMethods(spec: RouteSpec): string[] {
  const methods = METHOD_ORDER.filter((method) => spec.methods[method] !== undefined);
  return methods.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method]));
}

export interface RouteParts {
  /** The check of an access (host, token), the same function on both paths. */
  guard: (access: Access) => Guard;
  /** What reads a JSON body: the content type, the parser. */
  jsonBody: readonly RequestHandler[];
}

/** Answers a request directly when it is a direct route's GET (a promise when the answer is not yet written); false
 * when Express should. */
export type DirectRead = (req: HttpRequest, res: HttpResponse) => void | Promise<void> | false;

type Matcher = MatchFunction<Partial<Record<string, string | string[]>>>;

/** A path matched as Express 5 matches an app.route() path: any case, a trailing slash allowed, parameters decoded. */
export function expressMatcher(path: string): Matcher {
  return match(path === '/' ? path : path.replace(/\/+$/, ''), {
    sensitive: false,
    end: true,
    trailing: true,
    decode: decodeParam,
  });
}

function decodeParam(value: string): string {
  return value.includes('%') ? decodeURIComponent(value) : value;
}

/** A path every request to `path` could take: each parameter filled with a plain segment. */
const examplePath = (path: string): string => path.replace(/[:*](\w+)/g, 'any-$1');

/** Throws when a route's paths are all taken by an earlier route's pattern: it could never answer. */
export function assertNoShadowedRoute(routes: readonly RouteSpec[]): void {
  const earlier: { spec: RouteSpec; matchers: Matcher[] }[] = [];
  for (const spec of routes) {
    for (const path of spec.paths) {
      const shadow = earlier.find(({ matchers }) => matchers.some((matcher) => matcher(examplePath(path)) !== false));
      if (shadow)
        throw new Error(
          `route ${spec.name} (${path}) is shadowed by ${shadow.spec.name}, declared before it: declare it first`,
        );
    }
    earlier.push({ spec, matchers: spec.paths.map(expressMatcher) });
  }
}

/** Declares every route of `routes` on `app`, in order, and answers the direct read built from the same table. */
export function mountRoutes(app: Express, routes: readonly RouteSpec[], parts: RouteParts): DirectRead {
  assertNoShadowedRoute(routes);
  // Each route's matchers, in the order Express tries them, and a direct route's GET.
  const table: { matchers: Matcher[]; answer?: (req: RouteRequest, res: HttpResponse) => void | Promise<void> }[] = [];

  for (const spec of routes) {
    const route = app.route([...spec.paths]);
    const entry: (typeof table)[number] = { matchers: spec.paths.map(expressMatcher) };
    table.push(entry);
    for (const method of METHOD_ORDER) {
      const operation = spec.methods[method];
      if (!operation) continue;
      // What runs before the handler, on either path: the route's name (for the log line and metric label), then who
      // may call.
      const guard = parts.guard(operation.access);
      const checks = (req: HttpRequest, res: HttpResponse): void => {
        tagRoute(res, spec.name);
        guard(req, res);
      };
      const first: RequestHandler = (req, res, next) => {
        checks(req as unknown as HttpRequest, res as unknown as HttpResponse);
        next();
      };
      const handle: RequestHandler = (req, res) =>
        operation.handle(req as unknown as RouteRequest, res as unknown as HttpResponse);
      route[method.toLowerCase() as 'get' | 'put' | 'patch' | 'post'](
        first,
        ...(operation.body === 'json' ? parts.jsonBody : []),
        handle,
      );
      if (spec.direct && method === 'GET') {
        entry.answer = (req, res) => {
          checks(req, res);
          return operation.handle(req, res);
        };
      }
    }
    const allow = allowedMethods(spec).join(', ');
    route.all((req, res) => {
      tagRoute(res as unknown as HttpResponse, spec.name);
      throw new HttpProblem(problems.methodNotAllowed(`${req.method} is not supported here; use ${allow}.`), {
        Allow: allow,
      });
    });
  }

  // Which route answers a path, decided once per path: the first that matches is the one Express would run,
  // and only a direct route's is answered here. Bounded: a client sending ever new paths only empties it.
  type Decision = {
    answer: (req: RouteRequest, res: HttpResponse) => void | Promise<void>;
    params: Record<string, string>;
  } | null;
  const decisions = new Map<string, Decision>();
  const decide = (pathname: string): Decision => {
    for (const { matchers, answer } of table) {
      for (const matcher of matchers) {
        let found: ReturnType<Matcher>;
        try {
          found = matcher(pathname);
        } catch {
          return null; // a malformed percent-encoding: Express answers it (400)
        }
        if (found === false) continue;
        return answer === undefined
          ? null
          : { answer, params: Object.freeze({ ...found.params }) as Record<string, string> };
      }
    }
    return null;
  };

  return (req, res) => {
    if (req.method !== 'GET') return false;
    const pathname = parseurl(req as never)?.pathname;
    if (pathname === undefined || pathname === null) return false;
    let decision = decisions.get(pathname);
    if (decision === undefined) {
      decision = decide(pathname);
      if (decisions.size >= 1_000) decisions.clear();
      decisions.set(pathname, decision);
    }
    if (decision === null) return false;
    (req as RouteRequest).params = decision.params;
    return decision.answer(req as RouteRequest, res);
  };
}
