import type { ContentType } from '../../contracts/primitives.ts';
import type { SearchTerm } from '../../ports/search.ts';

/*
 * The one folding and tokenizing of search, used before indexing (the projector) and before
 * querying (the query side), for both engines. Neither engine analyzes anything itself: SQLite
 * FTS5 indexes the words with its `ascii` tokenizer and OpenSearch with its `whitespace` analyzer,
 * which both split the space-joined words exactly where we did. So "cafe" finds "Café" and "CAFÉ"
 * in both profiles alike, although the OpenSearch distribution we run has no asciifolding or ICU.
 */

const ASCII = /^\p{ASCII}*$/u;
const NONSPACING_MARKS = /\p{Mn}/gu;
/** A word: letters, digits and the marks that remain after folding (spacing marks of Indic scripts…). */
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Case and accent folding: compatibility decomposition (NFKD: "ﬁ" → "fi", "é" → "e" + accent), the
 * nonspacing marks dropped (the accents), lower case; final sigma and sharp s written the one way
 * each ("ς" → "σ", "ß" → "ss").
 */
export const fold = (text: string): string =>
  ASCII.test(text) ? text.toLowerCase() : text.normalize('NFKD').replace(NONSPACING_MARKS, '').toLowerCase().replace(/ς/g, 'σ').replace(/ß/g, 'ss');

/** The folded words of a text: what the index holds, and what a query looks for. */
export const wordsOf = (text: string): string[] => fold(text).match(WORD) ?? [];

/**
 * A query: words, and phrases in double quotes. Every term must match. The last term matches its
 * last word as a prefix (search as you type), unless it is a phrase whose closing quote was typed.
 * A quote left open runs to the end. Everything but letters and digits separates words, so no
 * engine syntax (`*:*`, `NEAR(`, `{"match_all":{}}`, a lone `"`) survives to reach an engine.
 */
export const parseQuery = (q: string): SearchTerm[] => {
  const terms: SearchTerm[] = [];
  const parts = q.split('"');
  parts.forEach((part, i) => {
    const words = wordsOf(part);
    if (words.length === 0) return;
    if (i % 2 === 1) terms.push({ words, prefix: false });
    else for (const word of words) terms.push({ words: [word], prefix: false });
  });
  const last = terms.at(-1);
  // An even number of parts means an odd number of quotes: the last part is a phrase left open.
  const closedPhraseLast = parts.length % 2 === 1 && parts.length > 1 && wordsOf(parts.at(-1)!).length === 0;
  if (last && !closedPhraseLast) last.prefix = true;
  return terms;
};

const MARK_OPEN = '<mark>';
const MARK_CLOSE = '</mark>';
const SNIPPET_BEFORE = 40;
const SNIPPET_LENGTH = 160;

/** Text shown in a snippet: whitespace collapsed, and a `<mark>` typed in the message shown as ‹mark›, so marks are only ours. */
const plain = (text: string) => text.replace(/\s+/g, ' ').replace(/<(\/?)mark>/gi, '‹$1mark›');

const matches = (word: string, terms: readonly SearchTerm[]) =>
  terms.some((term) => term.words.some((w, i) => word === w || (term.prefix && i === term.words.length - 1 && word.startsWith(w))));

/**
 * A short excerpt of `text` around its first matching word, every matching word in the excerpt
 * wrapped in `<mark>…</mark>`, "…" where the text was cut. Plain text, not HTML: clients escape it
 * (then turn the marks into highlights).
 */
export const snippetOf = (text: string, terms: readonly SearchTerm[]): string => {
  const runs = [...text.matchAll(WORD)].map((m) => ({ start: m.index, end: m.index + m[0].length, hit: wordsOf(m[0]).some((w) => matches(w, terms)) }));
  const first = runs.findIndex((r) => r.hit);
  if (first < 0) {
    const cut = runs.findLast((r) => r.end <= SNIPPET_LENGTH)?.end ?? Math.min(text.length, SNIPPET_LENGTH);
    return plain(text.slice(0, cut)) + (cut < text.length ? '…' : '');
  }
  const from = runs.find((r) => r.start >= runs[first]!.start - SNIPPET_BEFORE)!.start;
  const start = from === runs[0]!.start ? 0 : from;
  const lastRun = runs.findLast((r) => r.end <= start + SNIPPET_LENGTH) ?? runs[first]!;
  const end = lastRun === runs.at(-1) ? text.length : Math.max(lastRun.end, runs[first]!.end);
  let out = start > 0 ? '…' : '';
  let at = start;
  for (const run of runs) {
    if (!run.hit || run.start < start || run.end > end) continue;
    out += plain(text.slice(at, run.start)) + MARK_OPEN + plain(text.slice(run.start, run.end)) + MARK_CLOSE;
    at = run.end;
  }
  return out + plain(text.slice(at, end)) + (end < text.length ? '…' : '');
};

/**
 * What a message is found by and shown as: a text message its text, a media message its caption
 * (media content is JSON, contracts/media.ts; it names no file, so the caption is all there is), an
 * encrypted one nothing ever (the server cannot read it, and must not pretend to). Null: not indexed.
 */
export const searchableText = (content: string, contentType: ContentType): string | null => {
  if (contentType === 'text') return content;
  if (contentType !== 'media') return null;
  try {
    const { caption } = JSON.parse(content) as { caption?: unknown };
    return typeof caption === 'string' ? caption : '';
  } catch {
    return '';
  }
};
