// `npm run build` (also run by `prepare`): the server compiled by tsc (tsconfig.build.json) into
// dist/, plus what tsc does not emit: the plain JavaScript files beside the sources (the SQLite
// worker threads, which are loaded by URL, and cli/exit-with-parent.js), so that dist/ runs alone.
// dist/ is emptied first: a file deleted from the sources must not live on in the build.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const project = join(root, 'tsconfig.build.json');
const { config } = ts.readConfigFile(project, ts.sys.readFile) as { config: { include: string[] } };

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { stdio: 'inherit' });
let copied = 0;
for (const dir of config.include) {
  for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const file = join(entry.parentPath, entry.name);
    cpSync(file, join(dist, relative(root, file)));
    copied++;
  }
}
console.log(`natter build: dist/ compiled, ${copied} JavaScript assets copied`);
