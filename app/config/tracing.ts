import { bool, int, matching, url, type Env } from './validate.ts';

/** OpenTelemetry tracing (README "Tracing"): off unless NATTER_OTEL_ENABLED is true. */
export type TracingConfig = {
  enabled: boolean;
  /** The OTLP/HTTP collector's base URL; spans go to `<endpoint>/v1/traces` as JSON. */
  endpoint: string;
  serviceName: string;
  /** How long finished spans wait to be sent in one batch. */
  exportDelayMs: number;
};

// The standard OTEL_* names, so that a collector set up for other services is found the same way;
// enabling stays explicit, since an endpoint left in an environment must not turn tracing on by surprise.
export const tracingConfig = (env: Env): TracingConfig => ({
  enabled: bool(env, 'NATTER_OTEL_ENABLED', false),
  endpoint: url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'http://127.0.0.1:4318', ['http', 'https']).replace(/\/+$/, ''),
  serviceName: matching(env, 'OTEL_SERVICE_NAME', 'natter', /^\S{1,128}$/, 'a service name without spaces'),
  exportDelayMs: int(env, 'OTEL_BSP_SCHEDULE_DELAY', 5_000, { min: 1 }),
});
