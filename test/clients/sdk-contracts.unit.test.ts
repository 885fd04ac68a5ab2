import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderSdkContracts, sdkContractsFile } from '../../scripts/sdk-contracts.ts';

describe('the SDK wire types', () => {
  it('given the schemas in contracts/, then clients/sdk/contracts.ts is what `npm run sdk:contracts` generates from them', () => {
    assert.equal(readFileSync(sdkContractsFile, 'utf8'), renderSdkContracts(), 'clients/sdk/contracts.ts is stale: run `npm run sdk:contracts`');
  });
});
