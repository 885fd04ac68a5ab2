// One cluster role as its own process: shared with bench/ (scripts/cluster-roles.ts).
export { spawnRole, type Role } from '../../scripts/cluster-roles.ts';
