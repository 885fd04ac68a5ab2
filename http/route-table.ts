import type { FastifyInstance } from 'fastify';

/** One registered route: its method, its path pattern, and whether it is declared `config: { public: true }`. */
export type RouteEntry = { method: string; url: string; public: boolean; websocket: boolean };

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/**
 * Records every route registered after this call (an `onRoute` hook), so that tests can check that
 * each one is covered by the authorization table. Register it first, before any other route.
 * Fastify's automatic HEAD twins of GET routes are left out: they share the GET's hooks.
 */
export const recordRoutes = (app: FastifyInstance): void => {
  const routes: RouteEntry[] = [];
  tables.set(app, routes);
  app.addHook('onRoute', (route) => {
    const isPublic = Boolean((route.config as { public?: boolean } | undefined)?.public);
    const websocket = Boolean((route as { websocket?: boolean }).websocket);
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' && routes.some((r) => r.method === 'GET' && r.url === route.url)) continue;
      routes.push({ method, url: route.url, public: isPublic, websocket });
    }
  });
};

/** Every route recorded for `app` (the root instance `recordRoutes` was called with). */
export const routeTable = (app: FastifyInstance): readonly RouteEntry[] => tables.get(app) ?? [];

/** A route pattern (`/v1/conversations/:id`) as a matcher of concrete paths; `*` matches the rest. */
const matcher = (url: string): RegExp =>
  new RegExp(
    `^${url
      .split('/')
      .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}$`,
  );
const matchers = new WeakMap<RouteEntry, RegExp>();

/**
 * The methods some route answers at this concrete path (HEAD with GET), for a 405 and its Allow
 * header; empty when no route has the path. The CORS preflight route (`OPTIONS *`) is left out.
 */
export const allowedMethods = (app: FastifyInstance, path: string): string[] => {
  const methods = new Set<string>();
  for (const route of routeTable(app)) {
    if (route.url === '*' || route.url === '/*') continue;
    let match = matchers.get(route);
    if (!match) {
      match = matcher(route.url);
      matchers.set(route, match);
    }
    if (match.test(path)) methods.add(route.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
};
