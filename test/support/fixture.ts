import { before, after } from 'node:test';
import { startNatter, rest, type Server } from './natter.ts';
import { Device } from './ws-client.ts';

type Env = Parameters<typeof startNatter>[0];
type ConnectOptions = Parameters<typeof Device.connect>[3];

/**
 * The end-to-end fixture: one real Natter for the enclosing `describe` (embedded, or a cluster of
 * gateways with NATTER_TEST_PROFILE=cluster), started in a `before` and closed in an `after` that
 * it registers where it is called, with every device it connected closed first.
 *
 *   const { server, connect, as } = useNatter({ NATTER_MAX_FRAME_BYTES: '32768' });
 *
 * `env` may be a function, for settings known only once an earlier `before` has run (the address of
 * a local push service). Hooks run in the order they are registered: call it after the hooks it
 * depends on, and before those that use the server.
 */
export const useNatter = (env: Env | (() => Env | Promise<Env>) = {}) => {
  let started: Server | undefined;
  const devices: Device[] = [];
  const running = () => {
    if (!started) throw new Error('Natter is not running: use the fixture in tests, or in hooks registered after useNatter()');
    return started;
  };
  before(async () => {
    started = await startNatter(typeof env === 'function' ? await env() : env);
  });
  after(async () => {
    // Terminated, not closed: a test may leave a device that does not read (backpressure) or a server mid-drain.
    for (const device of devices) device.socket.terminate();
    await started?.close();
  });

  /** The running server, read through on every use: in the cluster, each `url` or `wsUrl` is the next gateway. */
  const server: Server = {
    get url() {
      return running().url;
    },
    get wsUrl() {
      return running().wsUrl;
    },
    get dataDir() {
      return running().dataDir;
    },
    get env() {
      return running().env;
    },
    token: (userId, deviceId) => running().token(userId, deviceId),
    close: () => running().close(),
  };
  const token = (user: string, device?: string) => server.token(user, device);
  return {
    server,
    token,
    /** Every device `connect` opened so far, in order. */
    devices: devices as readonly Device[],
    /** A device of `user` with a token for that device; closed when the describe ends. */
    connect: async (user: string, device = 'phone', options?: ConnectOptions) => {
      const connected = await Device.connect(server.wsUrl, await token(user, device), device, options);
      devices.push(connected);
      return connected;
    },
    /** A REST client with `user`'s token (for `device` when given). */
    as: async (user: string, device?: string) => rest(server.url, await token(user, device)),
  };
};
export type NatterFixture = ReturnType<typeof useNatter>;
