export type Tick = 'pending' | 'sent' | 'delivered' | 'read';
export type Watermarks = { delivered: number; read: number };

/**
 * The state of one of my messages: read once every other member has read up to it, delivered once
 * every other member's devices have it, sent once acked, pending before. Receipts are watermarks,
 * so comparing seqs is enough.
 */
export const tickFor = (seq: number | null, others: Watermarks[]): Tick => {
  if (seq === null) return 'pending';
  if (others.length > 0 && others.every((w) => w.read >= seq)) return 'read';
  if (others.length > 0 && others.every((w) => w.delivered >= seq)) return 'delivered';
  return 'sent';
};

export const tickText: Record<Tick, string> = { pending: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓' };
