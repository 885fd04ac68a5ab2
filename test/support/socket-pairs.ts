import { before, after } from 'node:test';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';

/**
 * A loopback WebSocket server for one suite: `open()` connects a plain ws client and resolves with
 * both ends once open, for tests of the server side of a socket (gateway/connection.ts).
 */
export const useSocketPairs = () => {
  let server: WebSocketServer;
  let url: string;
  before(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    for (const socket of server.clients) socket.terminate();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    async open() {
      const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
      const client = new WebSocket(url);
      const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
      await new Promise((resolve) => client.once('open', resolve));
      return { client, socket: await accepted, closed };
    },
  };
};
