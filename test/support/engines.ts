// Tests reach the engines through here; the discovery itself is shared with bench/ (scripts/engines.ts).
export { requireEngines, type Engine, type EngineEnv } from '../../scripts/engines.ts';
