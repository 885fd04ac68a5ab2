import { existsSync, mkdirSync } from 'node:fs';
import { build } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = 'test/artifacts';

/**
 * Builds the web client and checks for Chromium. Run it before the server starts: the server serves
 * clients/web/dist only when it exists. A missing Chromium fails the file rather than skipping it.
 */
export const prepareBrowserTests = async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}; install it with: apt-get update && apt-get install -y chromium (.ci/run does this)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  await build({ root: 'clients/web', logLevel: 'warn' });
};

export const launchChromium = (): Promise<Browser> => chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

/** Saved on every run, so that a person can look at the screens (test/artifacts is git-ignored). */
export const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/${name}.png` });
