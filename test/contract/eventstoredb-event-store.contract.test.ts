import { eventStoreContract } from './event-store.contract.ts';

// No EventStoreDB/KurrentDB server can be installed on this machine (it ships as a Docker image or
// vendor packages, not a Debian package), so scripts/engines.sh does not start one. With a server
// (docker compose up eventstore), set NATTER_EVENTSTORE_URL and this runs the shared contract unchanged;
// the contract uses fresh stream names, so a shared server is fine. The adapter (and the client's
// native gRPC bridge) is only loaded when there is a server to talk to.
const url = process.env.NATTER_EVENTSTORE_URL;
if (url) {
  const { createEventStoreDbEventStore } = await import('../../adapters/eventstoredb/event-store.ts');
  eventStoreContract('eventstoredb', () => createEventStoreDbEventStore({ connectionString: url }));
} else {
  console.log(
    'EventStoreDB contract suite skipped: NATTER_EVENTSTORE_URL is not set (no EventStoreDB server can be installed on this machine; run one with docker compose up eventstore and set NATTER_EVENTSTORE_URL=kurrentdb://127.0.0.1:2113?tls=false)',
  );
}
