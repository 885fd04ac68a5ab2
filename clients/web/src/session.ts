import { devToken } from '@natter/client';

export type Session = { userId: string; deviceId: string; token: string };
const KEY = 'natter.session';

export const loadSession = (): Session | null => {
  const raw = localStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
};

/** Dev tokens only: anyone may be anyone, which is what a development server is for. */
export const signIn = async (userId: string, deviceId: string): Promise<Session> => {
  const { token } = await devToken(location.origin, userId, deviceId);
  const session = { userId, deviceId, token };
  localStorage.setItem(KEY, JSON.stringify(session));
  return session;
};

export const signOut = () => localStorage.removeItem(KEY);

/** The SDK's cursor and outbox live under a prefix per user and device, so switching users starts clean. */
export const storagePrefix = (session: Session) => `natter.${session.userId}.${session.deviceId}.`;
