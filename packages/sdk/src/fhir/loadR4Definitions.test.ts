import { getDataType } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { loadR4Definitions } from './loadR4Definitions.ts';
import { nodeR4DefinitionSources } from './node/nodeR4DefinitionSources.ts';

describe('loadR4Definitions', () => {
  it('indexes the R4 resources once and returns the same promise', async () => {
    const first = loadR4Definitions({ sources: nodeR4DefinitionSources });
    expect(loadR4Definitions()).toBe(first);
    const { valueSets } = await first;
    expect(getDataType('Observation').elements.status?.binding?.strength).toBe('required');
    expect(valueSets.entry?.length).toBeGreaterThan(1000);
  });
});
