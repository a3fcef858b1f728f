import { purposeOfUse, ScopeKind, signGrantForRelay } from '@carekey/sdk/chain';
import type { NodeClient, NodeDescription } from '@carekey/sdk/client';
import { X25519Identity } from '@carekey/sdk/crypto';
import type { Hex, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

export type RelayTestGrantParameters = {
  /** A client of the node signing as `patient`. */
  client: NodeClient;
  patient: LocalAccount;
  /** The node's `GET /v1/node` (chain id, ConsentRegistry address). */
  description: NodeDescription;
};

export type RelayTestGrantReturnType = {
  /** The ConsentRegistry nonce the grant was signed with (from the node's nonce route). */
  nonce: bigint;
  /** EIP-712 digest of the signed grant: the outbox idempotency key. */
  grantDigest: Hex;
};

/**
 * One grant of everything to a fresh grantee, relayed as `carekey share --all` relays it: the nonce from
 * `GET /v1/nonces/{address}?contract=ConsentRegistry`, signed with the SDK's `signGrantForRelay`, then
 * `POST /v1/grants` (no stanzas: the tests that use it are about the relay path, not the keys).
 *
 * @example
 * const { nonce, grantDigest } = await relayTestGrant({ client, patient, description });
 */
export async function relayTestGrant(
  parameters: RelayTestGrantParameters,
): Promise<RelayTestGrantReturnType> {
  const { client, patient, description } = parameters;
  const { nonce } = await client.call<{ nonce: string }>({
    method: 'GET',
    path: `/v1/nonces/${patient.address}?contract=ConsentRegistry`,
  });
  const now = BigInt(Math.floor(Date.now() / 1000));
  const signed = await signGrantForRelay({
    account: patient,
    chainId: description.chainId,
    verifyingContract: description.contracts.consentRegistry,
    nonce: BigInt(nonce),
    deadline: now + 600n,
    grant: {
      patient: patient.address,
      grantee: privateKeyToAccount(generatePrivateKey()).address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: purposeOfUse('TREAT'),
      expiresAt: now + 86_400n,
    },
  });
  const created = await client.createGrant({
    grant: signed.body,
    recipient: X25519Identity.generate().recipient.toString(),
    stanzas: [],
  });
  return { nonce: signed.message.nonce, grantDigest: created.grantDigest };
}
