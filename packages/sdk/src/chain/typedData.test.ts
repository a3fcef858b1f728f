import { readFileSync } from 'node:fs';
import {
  type Address,
  concat,
  encodeAbiParameters,
  type Hex,
  keccak256,
  recoverTypedDataAddress,
  toHex,
  verifyTypedData,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  accessRequestTypes,
  denyTypes,
  type GrantMessage,
  grantTypes,
  hashGrant,
  hashPublish,
  InvalidPurposeOfUseError,
  publishTypes,
  purposeOfUse,
  revokeTypes,
  ScopeKind,
  ShredAction,
  shredTypes,
  toGrantTypedData,
  toPublishTypedData,
  toRevokeTypedData,
  toShredTypedData,
  ZERO_BYTES32,
} from './typedData.ts';

const patientAccount = privateKeyToAccount(toHex(0xa11cen, { size: 32 }));
const providerAccount = privateKeyToAccount(toHex(0xb0bn, { size: 32 }));
const verifyingContract: Address = '0x0000000000000000000000000000000000c0ffee';

/** The vector also hard-coded in contracts/test/SdkCompatibility.t.sol. */
const vectorGrant: GrantMessage = {
  patient: patientAccount.address,
  grantee: providerAccount.address,
  scopeKind: ScopeKind.Categories,
  scopeData: [keccak256(toHex('category-0')), keccak256(toHex('category-1'))],
  purpose: purposeOfUse('TREAT'),
  expiresAt: 1_800_000_000n,
  requestId: ZERO_BYTES32,
  nonce: 0n,
  deadline: 1_760_000_000n,
};

function encodeType(types: Record<string, readonly { name: string; type: string }[]>): string {
  const [[name, fields]] = Object.entries(types) as [[string, readonly { name: string; type: string }[]]];
  return `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(',')})`;
}

function solidityTypeStrings(file: string): string[] {
  const source = readFileSync(new URL(`../../../../contracts/src/${file}`, import.meta.url), 'utf8');
  return [...source.matchAll(/keccak256\(\s*"([A-Za-z]+\([^"]*\))"\s*\)/g)].map((m) => m[1] as string);
}

describe('typedData', () => {
  it('declares exactly the EIP-712 types the contracts hash (typehash strings from the Solidity source)', () => {
    expect(solidityTypeStrings('ConsentRegistry.sol')).toEqual(
      expect.arrayContaining([grantTypes, revokeTypes, denyTypes, accessRequestTypes].map(encodeType)),
    );
    expect(solidityTypeStrings('RecordRegistry.sol')).toEqual(
      expect.arrayContaining([publishTypes, shredTypes].map(encodeType)),
    );
  });

  it('hashGrant equals the digest rebuilt the way ConsentRegistry does (abi.encode, packed array hash)', () => {
    const domainSeparator = keccak256(
      encodeAbiParameters(
        [
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'uint256' },
          { type: 'address' },
        ],
        [
          keccak256(
            toHex('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'),
          ),
          keccak256(toHex('Carekey ConsentRegistry')),
          keccak256(toHex('1')),
          31337n,
          verifyingContract,
        ],
      ),
    );
    const m = vectorGrant;
    const structHash = keccak256(
      encodeAbiParameters(
        [
          { type: 'bytes32' },
          { type: 'address' },
          { type: 'address' },
          { type: 'uint8' },
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'uint64' },
          { type: 'bytes32' },
          { type: 'uint256' },
          { type: 'uint256' },
        ],
        [
          keccak256(toHex(encodeType(grantTypes))),
          m.patient,
          m.grantee,
          m.scopeKind,
          keccak256(concat([...m.scopeData])),
          m.purpose,
          m.expiresAt,
          m.requestId,
          m.nonce,
          m.deadline,
        ],
      ),
    );
    const digest = keccak256(concat(['0x1901', domainSeparator, structHash]));
    expect(hashGrant({ chainId: 31337, verifyingContract, message: m })).toBe(digest);
    expect(digest).toBe('0x169306a5bbdba829646a04d3830c78366ccf95fb6bdee688df4c5c160c14b5cd');
  });

  it('T-6: a viem-signed grant verifies for the patient and matches the contract vector', async () => {
    const typedData = toGrantTypedData({ chainId: 31337, verifyingContract, message: vectorGrant });
    const signature = await patientAccount.signTypedData(typedData);
    expect(signature).toBe(
      '0x9af2f95c97e7290f78dc9ec64fbe9f970ada096256740ff1a72572aa50e8bb2b2c629bde62cc2e8560ab5d76c65d6cbd00800156b0f1857514c7e19f53998e2f1c',
    );
    expect(await verifyTypedData({ ...typedData, address: patientAccount.address, signature })).toBe(true);
  });

  it('T-6: a signature for another chain, contract or message does not verify for the patient', async () => {
    const signature = await patientAccount.signTypedData(
      toGrantTypedData({ chainId: 31337, verifyingContract, message: vectorGrant }),
    );
    const variants = [
      toGrantTypedData({ chainId: 1, verifyingContract, message: vectorGrant }),
      toGrantTypedData({ chainId: 31337, verifyingContract: providerAccount.address, message: vectorGrant }),
      toGrantTypedData({ chainId: 31337, verifyingContract, message: { ...vectorGrant, nonce: 1n } }),
      toGrantTypedData({ chainId: 31337, verifyingContract, message: { ...vectorGrant, scopeData: [] } }),
    ];
    for (const typedData of variants) {
      expect(await recoverTypedDataAddress({ ...typedData, signature })).not.toBe(patientAccount.address);
    }
    const bySomeoneElse = await providerAccount.signTypedData(
      toGrantTypedData({ chainId: 31337, verifyingContract, message: vectorGrant }),
    );
    expect(
      await verifyTypedData({
        ...toGrantTypedData({ chainId: 31337, verifyingContract, message: vectorGrant }),
        address: patientAccount.address,
        signature: bySomeoneElse,
      }),
    ).toBe(false);
  });

  it('signs and recovers every other message type', async () => {
    const target = { chainId: 31337, verifyingContract } as const;
    const messages = [
      toRevokeTypedData({
        ...target,
        message: { patient: patientAccount.address, grantId: keccak256('0x01'), nonce: 3n, deadline: 9n },
      }),
      toPublishTypedData({
        ...target,
        message: {
          publisher: providerAccount.address,
          root: keccak256('0x02'),
          count: 1000,
          nonce: 0n,
          deadline: 9n,
        },
      }),
      toShredTypedData({
        ...target,
        message: {
          patient: patientAccount.address,
          recordId: keccak256('0x03'),
          action: ShredAction.Cancel,
          nonce: 1n,
          deadline: 9n,
        },
      }),
    ] as const;
    const [revoke, publish, shred] = messages;
    const recovered = [
      await recoverTypedDataAddress({ ...revoke, signature: await patientAccount.signTypedData(revoke) }),
      await recoverTypedDataAddress({ ...publish, signature: await patientAccount.signTypedData(publish) }),
      await recoverTypedDataAddress({ ...shred, signature: await patientAccount.signTypedData(shred) }),
    ];
    expect(recovered).toEqual([patientAccount.address, patientAccount.address, patientAccount.address]);
    expect(messages[1].domain.name).toBe('Carekey RecordRegistry');
    expect(hashPublish({ ...target, message: messages[1].message })).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('encodes PurposeOfUse codes as Solidity bytes32 literals and rejects bad codes', () => {
    expect(purposeOfUse('TREAT')).toBe(`0x5452454154${'00'.repeat(27)}` as Hex);
    expect(purposeOfUse('ETREAT').length).toBe(66);
    for (const bad of ['', 'treat', 'TRE AT', 'A'.repeat(33)]) {
      expect(() => purposeOfUse(bad)).toThrow(InvalidPurposeOfUseError);
    }
  });
});
