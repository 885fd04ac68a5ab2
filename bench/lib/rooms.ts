// Rooms for the relay peers, conversations for Natter: the same shapes on every target.
import type { ConnSpec } from '../clients/common.ts';
import { createDirect, createGroup, devToken } from './natter.ts';
import type { RunningServer } from './servers.ts';

/** A direct conversation alice → bob. */
export const pairRoom = async (s: RunningServer, tag: string): Promise<{ sender: ConnSpec; receiver: ConnSpec }> => {
  if (s.kind !== 'natter') return { sender: { room: tag, publishOnly: true }, receiver: { room: tag } };
  const base = s.natter!.base;
  const alice = `${tag}-alice`, bob = `${tag}-bob`;
  const tok = await devToken(base, alice, 'phone');
  const room = await createDirect(base, tok, bob);
  return { sender: { room, userId: alice, deviceId: 'phone', token: tok }, receiver: { room, userId: bob, deviceId: 'phone' } };
};

/** A group of `size` members: member 0 sends, the others receive (one socket each). */
export const groupRoom = async (s: RunningServer, tag: string, size: number): Promise<{ sender: ConnSpec; receivers: ConnSpec[] }> => {
  const ids = Array.from({ length: size }, (_, k) => `${tag}-u${k}`);
  if (s.kind !== 'natter') return { sender: { room: tag, publishOnly: true }, receivers: ids.slice(1).map(() => ({ room: tag })) };
  const base = s.natter!.base;
  const tok = await devToken(base, ids[0]!, 'd');
  const room = await createGroup(base, tok, tag, ids.slice(1));
  return {
    sender: { room, userId: ids[0], deviceId: 'd', token: tok },
    receivers: ids.slice(1).map((u) => ({ room, userId: u, deviceId: 'd' })),
  };
};
