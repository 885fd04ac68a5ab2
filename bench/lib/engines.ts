// The engines the cluster profile and the adapter benches need (scripts/engines.sh through
// scripts/engines.ts; running engines are reused).
import { requireEngines, type Engine } from '../../scripts/engines.ts';

/** The engines could not be started: the scenario is skipped with this reason, not failed. */
export class EnginesUnavailable extends Error {}

export const engines = async (...names: Engine[]): Promise<Record<string, string>> => {
  try {
    return await requireEngines(...(names.length ? names : (['redis', 'postgres', 'kafka', 'cassandra', 'opensearch'] as const)));
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const tail = (err.stderr ?? '')
      .trim()
      .split('\n')
      .filter((l) => /ERROR|error/.test(l))
      .slice(-2)
      .join(' / ');
    throw new EnginesUnavailable(`scripts/engines.sh up failed: ${tail || err.message.split('\n')[0]}`);
  }
};
