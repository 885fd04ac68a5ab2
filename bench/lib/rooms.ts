// Rooms for the relay peers, conversations for Natter: the same shapes on every target, each socket
// placed on its server (Running.senders / receivers: in the cluster, across gateways).
import type { ConnSpec } from '../clients/common.ts';
import type { Running } from './deployment.ts';
import { createDirect, createGroup, devToken } from './natter.ts';

type Placement = Pick<Running, 'kind' | 'base' | 'senders' | 'receivers'>;

/** A direct conversation alice → bob: alice on a sender's server, bob on the receiver's beside it. */
export const pairRoom = async (s: Placement, tag: string): Promise<{ sender: ConnSpec; receiver: ConnSpec }> => {
  const at = { target: s.senders[0] },
    to = { target: s.receivers[0] };
  if (s.kind !== 'natter') return { sender: { room: tag, publishOnly: true, ...at }, receiver: { room: tag, ...to } };
  const base = s.base!;
  const alice = `${tag}-alice`,
    bob = `${tag}-bob`;
  const tok = await devToken(base, alice, 'phone');
  const room = await createDirect(base, tok, bob);
  return { sender: { room, userId: alice, deviceId: 'phone', token: tok, ...at }, receiver: { room, userId: bob, deviceId: 'phone', ...to } };
};

/** A group of `size` members: member 0 sends, the others receive (one socket each, spread over the receivers' servers). */
export const groupRoom = async (s: Placement, tag: string, size: number): Promise<{ sender: ConnSpec; receivers: ConnSpec[] }> => {
  const ids = Array.from({ length: size }, (_, k) => `${tag}-u${k}`);
  const at = (k: number) => ({ target: s.receivers[k % s.receivers.length] });
  if (s.kind !== 'natter')
    return { sender: { room: tag, publishOnly: true, target: s.senders[0] }, receivers: ids.slice(1).map((_, k) => ({ room: tag, ...at(k) })) };
  const base = s.base!;
  const tok = await devToken(base, ids[0]!, 'd');
  const room = await createGroup(base, tok, tag, ids.slice(1));
  return {
    sender: { room, userId: ids[0], deviceId: 'd', token: tok, target: s.senders[0] },
    receivers: ids.slice(1).map((u, k) => ({ room, userId: u, deviceId: 'd', ...at(k) })),
  };
};
