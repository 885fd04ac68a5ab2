const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });

export const clock = (timestamp: number) => time.format(timestamp);

export const when = (timestamp: number) => (new Date(timestamp).toDateString() === new Date().toDateString() ? time.format(timestamp) : day.format(timestamp));

export const lastSeen = (presence: { status: 'online' | 'offline'; last_seen?: number } | undefined) => {
  if (!presence) return '';
  if (presence.status === 'online') return 'online';
  return presence.last_seen ? `last seen ${when(presence.last_seen)}` : 'offline';
};

/** A moment later today or on another day: "14:05", or "3 Mar 14:05". */
export const moment = (timestamp: number) =>
  new Date(timestamp).toDateString() === new Date().toDateString() ? time.format(timestamp) : `${day.format(timestamp)} ${time.format(timestamp)}`;
