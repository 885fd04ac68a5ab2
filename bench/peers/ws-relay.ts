// Peer: a bare `ws` relay. A client joins the room given by `?room=`; every text frame it sends is
// forwarded unchanged to the other clients of that room. No parsing, no persistence, no auth.
import { createServer } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { onCommand, reply } from '../lib/ipc.ts';

const rooms = new Map<string, Set<WebSocket>>();
const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404).end();
});
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: false });

wss.on('connection', (ws, req) => {
  const room = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? '';
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(ws);
  const peers = members;
  ws.on('message', (data, isBinary) => {
    for (const c of peers) if (c !== ws && c.readyState === WebSocket.OPEN) c.send(data, { binary: isBinary });
  });
  ws.on('close', () => {
    peers.delete(ws);
    if (peers.size === 0) rooms.delete(room);
  });
  ws.on('error', () => undefined);
});

onCommand((c) => {
  if (c.cmd === 'mem') {
    const g = (globalThis as { gc?: () => void }).gc;
    if (c.gc && g) g();
    const m = process.memoryUsage();
    let sockets = 0;
    for (const s of rooms.values()) sockets += s.size;
    reply({ type: 'mem', rss: m.rss, heapUsed: m.heapUsed, sockets });
  }
});

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const a = http.address();
  reply({ type: 'ready', port: typeof a === 'object' && a ? a.port : 0 });
});
