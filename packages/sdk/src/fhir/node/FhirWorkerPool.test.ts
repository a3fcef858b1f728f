import { describe, expect, it } from 'vitest';
import { FhirParseError, FhirValidationError } from '../../errors/fhir.ts';
import { sha256Hex } from '../canonicalJson.ts';
import { FhirWorkerPool } from './FhirWorkerPool.ts';

describe('FhirWorkerPool', () => {
  it('validates in a worker, rebuilds error classes with their details, and refuses work once closed', async () => {
    const pool = new FhirWorkerPool({ threads: 1 });
    try {
      const { records } = await pool.split('{"resourceType":"Basic","id":"b1","code":{"text":"note"}}');
      expect(records).toMatchObject([
        {
          resourceType: 'Basic',
          id: 'b1',
          category: 'Basic',
          canonicalJson: '{"code":{"text":"note"},"id":"b1","resourceType":"Basic"}',
        },
      ]);
      // The worker's digest (OpenSSL) is the one noble computes; the resource is parsed once, when first read.
      expect(records[0]?.sha256).toBe(sha256Hex(records[0]?.canonicalJson ?? ''));
      expect(records[0]?.resource).toEqual({ resourceType: 'Basic', id: 'b1', code: { text: 'note' } });
      expect(records[0]?.resource).toBe(records[0]?.resource);
      expect({ ...records[0] }.resource).toEqual({ resourceType: 'Basic', id: 'b1', code: { text: 'note' } });

      const parse = await pool.split('{"a":{"__proto__":1}}').catch((e: unknown) => e);
      expect(parse).toBeInstanceOf(FhirParseError);
      expect(parse).toMatchObject({ reason: 'forbidden-key', path: '$.a.__proto__', offset: 6 });

      const invalid = await pool
        .split('{"resourceType":"Observation","id":"o"}', { maxIssues: 1 })
        .catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(FhirValidationError);
      expect((invalid as FhirValidationError).outcome.issue).toHaveLength(1);

      const tooBig = await pool.split('{"resourceType":"Basic"}', { maxBytes: 10 }).catch((e: unknown) => e);
      expect(tooBig).toMatchObject({ name: 'FhirParseError', reason: 'too-large' });
    } finally {
      await pool.close();
    }
    await expect(pool.split('{"resourceType":"Basic"}')).rejects.toThrow(/closed/);
  });
});
