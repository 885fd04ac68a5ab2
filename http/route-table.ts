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
