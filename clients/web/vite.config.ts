import { defaultClientConditions, defineConfig } from 'vite';

// The web client imports the SDK as `@natter/client` (an npm workspace); the `@natter/source`
// export condition points at its TypeScript sources, so neither this build nor the type check
// needs the SDK's own build first.
export default defineConfig({
  resolve: { conditions: ['@natter/source', ...defaultClientConditions] },
});
