/** A stored mute as the inbox shows it at `now`: a mute that ran out is no mute (mutes expire by themselves). */
export const muteState = (muted: boolean, until: number | null, now: number): { muted: boolean; muted_until: number | null } =>
  muted && (until === null || until > now) ? { muted: true, muted_until: until } : { muted: false, muted_until: null };
