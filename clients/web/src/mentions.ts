// A user id may hold `.`, `:`, `@` and `-`; at the end of a word those are punctuation ("thanks @bob.").
const token = /@([A-Za-z0-9][A-Za-z0-9._@:-]*)/g;
const name = (match: string) => match.slice(1).replace(/[._@:-]+$/, '');

/** The members a text mentions as `@user`, once each, in order: what a send carries as `mentions`. */
export const mentionsIn = (text: string, members: readonly string[]): string[] => [
  ...new Set([...text.matchAll(token)].map((m) => name(m[0])).filter((user) => members.includes(user))),
];

/** The text cut into plain parts and `@user` parts for the users the message mentions, so the view can highlight them. */
export const splitMentions = (text: string, mentions: readonly string[]): Array<{ text: string; user?: string }> => {
  const parts: Array<{ text: string; user?: string }> = [];
  let at = 0;
  for (const match of text.matchAll(token)) {
    const user = name(match[0]);
    if (!mentions.includes(user)) continue;
    if (match.index > at) parts.push({ text: text.slice(at, match.index) });
    parts.push({ text: `@${user}`, user });
    at = match.index + user.length + 1;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
};
