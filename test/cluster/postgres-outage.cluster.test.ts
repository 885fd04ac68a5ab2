import { describe, it } from 'node:test';
import { storeOutageUnderLoad } from '../support/store-outage.ts';

// Issue #18: the relay's PostgreSQL subscription used to give up after 8 failed reads (about 21 s)
// and relay nothing until restarted; 694 of 882 acked messages never reached history or the device.
describe('cluster: PostgreSQL killed with -9 under load and started again after 30 s', { timeout: 420_000 }, () => {
  it('given 20 msgs/s over 3 gateways, when PostgreSQL is killed and back after 30 s, then no process exits, every acked message reaches history and the receiving device, and sends are acked again', async () => {
    await storeOutageUnderLoad({ engine: 'postgres', downMs: 30_000, rate: 20, recoveryMs: 60_000 });
  });
});
