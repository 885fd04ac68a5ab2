// Which peers a scenario measures beside Natter. The Node peers are always there; Centrifugo only when
// its binary is (bench/lib/centrifugo.ts), and otherwise the scenario carries a note saying why not.
import type { Ctx } from './context.ts';
import type { TargetKind } from './drivers.ts';
import { centrifugoAvailability, type CentrifugoKind } from './centrifugo.ts';

/** `want`: the Centrifugo kinds of a full run and of a --quick run (kept short for the smoke test). */
export const withCentrifugo = async (
  ctx: Ctx,
  base: TargetKind[],
  want: { full: CentrifugoKind[]; quick: CentrifugoKind[] },
): Promise<{ kinds: TargetKind[]; notes: string[] }> => {
  const kinds = ctx.quick ? want.quick : want.full;
  if (kinds.length === 0) return { kinds: base, notes: ['--quick: Centrifugo is measured in the throughput scenario only'] };
  const a = await centrifugoAvailability({ build: !ctx.quick, log: ctx.log });
  if ('skipped' in a) return { kinds: base, notes: [`Centrifugo peer skipped: ${a.skipped}`] };
  const ns = kinds.map((k) => (k === 'centrifugo' ? 'relay (no history)' : 'hist (history 1,000 per channel, recovery on)'));
  return {
    kinds: [...base, ...kinds],
    notes: [
      `Centrifugo ${a.version} (Go, GOMAXPROCS ${process.env.GOMAXPROCS ?? 'default: all cores'}), insecure client mode, memory engine; namespaces: ${ns.join(', ')}`,
    ],
  };
};
