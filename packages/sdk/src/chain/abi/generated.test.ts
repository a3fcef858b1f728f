import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { abiDir, compileContracts, renderAbiModules } from '../../../../../contracts/scripts/build.ts';

describe('generated ABI modules', () => {
  it('match a fresh solc-js compile of contracts/src (run `npm run build:contracts` if this fails)', () => {
    const modules = renderAbiModules(compileContracts());
    expect([...modules.keys()].sort()).toEqual([
      'consentRegistry.ts',
      'emergency.ts',
      'ethereumDidRegistry.ts',
      'index.ts',
      'naivePointerStore.ts',
      'recordRegistry.ts',
      'recovery.ts',
      'recoveryAccount.ts',
      'trustedIssuers.ts',
    ]);
    for (const [file, contents] of modules) {
      expect(readFileSync(path.join(abiDir, file), 'utf8'), file).toBe(contents);
    }
  }, 180_000); // solc-js compiles the whole tree: slow on a busy CI machine

  it('export the ABI and bytecode of every contract', async () => {
    const abi = await import('./index.ts');
    expect(abi.recordRegistryBytecode).toMatch(/^0x[0-9a-f]{200,}$/);
    expect(
      abi.consentRegistryAbi.some((item) => item.type === 'function' && item.name === 'createGrantSigned'),
    ).toBe(true);
    expect(
      abi.ethereumDidRegistryAbi.some((item) => item.type === 'function' && item.name === 'identityOwner'),
    ).toBe(true);
  });
});
