import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { build } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = 'test/artifacts';

const WEB = 'clients/web';

/**
 * Builds the web client into clients/web/dist without ever leaving it half-written: browser test
 * files run in parallel, and a server routes only the files that exist when it starts, so a build
 * that empties dist under another file's server start leaves that page blank. Each build goes to its
 * own folder, which then replaces dist in two renames; if another file's build got there between
 * them, its output (the same sources) stays.
 */
const buildWebClient = async () => {
  const fresh = `dist.${process.pid}`;
  await build({ root: WEB, logLevel: 'warn', build: { outDir: fresh, emptyOutDir: true } });
  const old = `${WEB}/dist.old.${process.pid}`;
  try {
    renameSync(`${WEB}/dist`, old);
  } catch {
    /* no earlier build */
  }
  try {
    renameSync(`${WEB}/${fresh}`, `${WEB}/dist`);
  } catch {
    /* another build is in place */
  }
  rmSync(old, { recursive: true, force: true });
  rmSync(`${WEB}/${fresh}`, { recursive: true, force: true });
};

/**
 * Builds the web client and checks for Chromium. Run it before the server starts: the server serves
 * clients/web/dist only when it exists. A missing Chromium fails the file rather than skipping it.
 */
export const prepareBrowserTests = async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}; install it with: apt-get update && apt-get install -y chromium (.ci/run does this)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  await buildWebClient();
};

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });

/** Saved on every run, so that a person can look at the screens (test/artifacts is git-ignored). */
export const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/${name}.png` });
