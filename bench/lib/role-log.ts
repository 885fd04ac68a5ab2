// What the cluster's roles printed at warn level and above during a measurement, for the report's notes.

/** "gw2: 98 × error WrongExpectedRevision (e.g. <first message>)" per role and kind, most frequent first (at most 6). */
export const summarizeLog = (lines: string[]): string[] => {
  const kinds = new Map<string, { n: number; sample: string }>();
  for (const line of lines) {
    const cut = line.indexOf(': ');
    const role = line.slice(0, cut),
      text = line.slice(cut + 2);
    let kind = text.slice(0, 80),
      sample = text;
    try {
      const j = JSON.parse(text) as { level?: number; msg?: string; err?: { type?: string; message?: string } };
      const level = j.level === 40 ? 'warn' : j.level && j.level >= 50 ? 'error' : String(j.level ?? '');
      kind = `${level} ${j.err?.type ?? ''} ${j.msg ?? ''}`.replace(/\s+/g, ' ').trim();
      sample = j.err?.message ?? j.msg ?? text;
    } catch {
      /* a plain line (truncated JSON included) */
      const m = /"type":"(\w+)","message":"([^"]{0,200})/.exec(text);
      if (m) (kind = `error ${m[1]}`), (sample = m[2]!);
    }
    const k = `${role}: ${kind}`;
    const e = kinds.get(k);
    if (e) e.n++;
    else kinds.set(k, { n: 1, sample: sample.slice(0, 200) });
  }
  return [...kinds]
    .sort((a, b) => b[1].n - a[1].n)
    .slice(0, 6)
    .map(([k, v]) => `${k.replace(': ', `: ${v.n} × `)} (e.g. ${v.sample})`);
};
