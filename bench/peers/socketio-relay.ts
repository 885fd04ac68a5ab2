// Peer: a socket.io relay. A client joins the room given in the handshake query; every 'm' event is
// re-emitted to the other members of that room. WebSocket transport only, no persistence, no auth.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { onCommand, reply } from '../lib/ipc.ts';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });

io.on('connection', (socket) => {
  const room = String(socket.handshake.query.room ?? '');
  void socket.join(room);
  socket.on('m', (content: unknown) => {
    socket.to(room).emit('m', content);
  });
});

onCommand((c) => {
  if (c.cmd === 'mem') {
    const g = (globalThis as { gc?: () => void }).gc;
    if (c.gc && g) g();
    const m = process.memoryUsage();
    reply({ type: 'mem', rss: m.rss, heapUsed: m.heapUsed, sockets: io.engine.clientsCount });
  }
});

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const a = http.address();
  reply({ type: 'ready', port: typeof a === 'object' && a ? a.port : 0 });
});
