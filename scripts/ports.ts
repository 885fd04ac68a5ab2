import { createServer } from 'node:net';

/** A loopback port that was free a moment ago: asked of the OS, not guessed (guesses collide with ephemeral ports). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
