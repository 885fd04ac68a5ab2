// Shared with bench/ and scripts/cluster-roles.ts (scripts/ports.ts).
export { freePort } from '../../scripts/ports.ts';
