import { Type } from 'typebox';

/** Distinct emojis one message may carry; a new one past this is refused (`too_many_reactions`). */
export const MAX_DISTINCT_REACTIONS = 20;
/** Emojis one user may put on one message. */
export const MAX_REACTIONS_PER_USER = 10;
/** `user_ids` of a reaction summary holds at most this many reactors; `count` is the truth. */
export const REACTION_USER_IDS_SHOWN = 20;

/** An emoji travels in a URL path and a frame: short, and checked to be one emoji by `isSingleEmoji`. */
export const Emoji = Type.String({ minLength: 1, maxLength: 32, description: 'one emoji (a single grapheme cluster that is an emoji)' });

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
// A grapheme cluster is an emoji when it is pictographic (with its modifiers, ZWJ sequences and
// variation selectors), a flag (two regional indicators) or a keycap (0-9, #, * with U+20E3).
const pictographic =
  /^(?:\p{Extended_Pictographic}|\p{Emoji_Modifier_Base})(?:\p{Emoji_Modifier}|\uFE0F|\u200D(?:\p{Extended_Pictographic}|\p{Emoji_Modifier_Base})|\p{Emoji_Modifier}|[\u{E0020}-\u{E007F}])*$/u;
const flag = /^\p{Regional_Indicator}{2}$/u;
const keycap = /^[0-9#*]\uFE0F?\u20E3$/u;

/** True for exactly one emoji: `👍`, `❤️`, `👍🏽`, `👩‍👩‍👧`, `🇫🇷`, `1️⃣`; false for text, two emojis, or an emoji with text. */
export const isSingleEmoji = (value: string): boolean => {
  const clusters = [...graphemes.segment(value)];
  if (clusters.length !== 1) return false;
  const cluster = clusters[0]!.segment;
  return pictographic.test(cluster) || flag.test(cluster) || keycap.test(cluster);
};
