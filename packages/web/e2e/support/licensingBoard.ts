import { type Hex, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  createIdentityClient,
  IssuerAction,
  issueCredential,
  STATUS_REVOKED,
  signStatusList,
  toApprovalTypedData,
  toDid,
} from '../../../sdk/src/identity/index.ts';
import { generateMnemonic, newWalletSecrets, walletKeys } from '../../../sdk/src/wallet/index.ts';

/** What the browser tests get of the licensing board: a clinician it credentialed (a wallet the test restores). */
export type CredentialedClinician = {
  /** The clinician's recovery phrase (restored in the browser with `restoreWallet(page, { mnemonic })`). */
  mnemonic: string;
  address: Hex;
  /** A valid SD-JWT VC (role physician, licence, specialty emergency medicine, organisation Hospital X). */
  credential: string;
  /** A second credential of the same clinician, already revoked by the board (its status list says 1). */
  revokedCredential: string;
  issuerName: string;
};

export const BOARD_NAME = 'Medical Board Y';

/**
 * The run's TrustedIssuers governance, as `carekey issuer add` and `carekey credential issue` do it: a governor key
 * (1 of 1, given to the node at deployment) approves a licensing board, which publishes its status list on the node
 * and issues a clinician two credentials, the second revoked. A second or so on an idle machine.
 */
export function newGovernor(): { privateKey: Hex; address: Hex } {
  const privateKey = generatePrivateKey();
  return { privateKey, address: privateKeyToAccount(privateKey).address };
}

export async function credentialClinician(parameters: {
  url: string;
  chainId: number;
  governorKey: Hex;
}): Promise<CredentialedClinician> {
  const { url, chainId } = parameters;
  const identity = createIdentityClient({ url });
  const governor = privateKeyToAccount(parameters.governorKey);
  const boardKey = generatePrivateKey();
  const board = privateKeyToAccount(boardKey).address;
  const boardDid = toDid({ address: board, chainId });

  // The governor approves the board (1 of 1: trusted at once), relayed by the node.
  const standing = await identity.getIssuer(board, governor.address);
  const config = await identity.resolverConfig();
  const message = {
    governor: governor.address,
    action: IssuerAction.Add,
    issuer: board,
    epoch: BigInt(standing.epoch),
    nonce: BigInt(standing.governorNonce ?? '0'),
    deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
  };
  const signature = await governor.signTypedData(
    toApprovalTypedData({ chainId: config.chainId, verifyingContract: config.trustedIssuers, message }),
  );
  await identity.approveIssuer({
    governor: governor.address,
    action: IssuerAction.Add,
    issuer: board,
    epoch: message.epoch.toString(),
    nonce: message.nonce.toString(),
    deadline: message.deadline.toString(),
    signature,
  });
  const deadline = Date.now() + 90_000;
  while (!(await identity.getIssuer(board)).trusted) {
    if (Date.now() > deadline) throw new Error('the licensing board is not trusted after 90 s');
    await new Promise((r) => setTimeout(r, 250));
  }

  // The board's status list (entry 1 revoked) goes out before the credentials that point at it.
  const uri = `${url}/v1/status-lists/${board}/${toHex(crypto.getRandomValues(new Uint8Array(8))).slice(2)}`;
  await identity.publishStatusList(
    signStatusList({ issuerDid: boardDid, privateKey: boardKey, uri, statuses: [0, STATUS_REVOKED] }),
  );
  const mnemonic = generateMnemonic();
  const keys = walletKeys(newWalletSecrets({ mnemonic }));
  const issue = (idx: number) =>
    issueCredential({
      issuerDid: boardDid,
      privateKey: boardKey,
      issuerName: BOARD_NAME,
      subjectDid: toDid({ address: keys.address, chainId }),
      claims: {
        role: 'physician',
        licence: 'MB-9',
        specialty: 'emergency medicine',
        organisation: 'Hospital X',
      },
      status: { uri, idx },
      expiresAt: Math.floor(Date.now() / 1000) + 30 * 86400,
    });
  return {
    mnemonic,
    address: keys.address,
    credential: await issue(0),
    revokedCredential: await issue(1),
    issuerName: BOARD_NAME,
  };
}
