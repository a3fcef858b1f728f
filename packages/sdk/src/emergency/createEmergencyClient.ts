import { type Address, bytesToHex, getAddress, type Hex, type LocalAccount } from 'viem';
import type { NodeClient } from '../client/createNodeClient.ts';
import {
  EmergencyPolicy,
  type EmergencyPolicyName,
  type EmergencyScope,
  MAX_EMERGENCY_ACCESS_SECONDS,
} from './emergencyPolicy.ts';
import { deriveAccessId, toBreakGlassTypedData, toPolicyChangeTypedData } from './emergencyTypedData.ts';

/** `GET /v1/emergency`: where break-glass lives on this node. */
export type EmergencyInfo = {
  chainId: number;
  /** The Emergency contract (EIP-712 verifyingContract). */
  contract: Address;
  /** The node's emergency key (age X25519 recipient) patients wrap their summary to. */
  recipient: string;
  maxAccessSeconds: number;
  limits: { perClinician: number; windowSeconds: number; flagAfter: number };
};

/** `GET /v1/emergency/policies/{address}`. */
export type EmergencyPolicyState = {
  patient: Address;
  policy: EmergencyPolicyName;
  nonce: string;
  chainNonce: string;
  queued: number;
  summary: { recordId: Hex; updatedAt: string } | null;
  records: number;
};

/** One record a break-glass released: its payload id and its file key re-wrapped to the clinician. */
export type EmergencyRelease = { recordId: Hex; blobId: string; stanza: string; summary: boolean };

/** `POST /v1/emergency/access` and `GET /v1/emergency/access/{id}`. */
export type EmergencyAccess = {
  accessId: Hex;
  patient: Address;
  clinician: Address;
  scope: 'summary' | 'all';
  expiresAt: string;
  records: EmergencyRelease[];
};

/** One notification of `GET /v1/notifications`: a break-glass or a recovery event. */
export type Notification = EmergencyNotification | RecoveryNotification;

/** A break-glass on the reader's records (or a patient's it is guardian of). */
export type EmergencyNotification = {
  id: string;
  at: string;
  kind: 'emergency-access';
  /** Whose records: the reader itself, or the patient a guardian watches over. */
  patient: Address;
  role: 'patient' | 'guardian';
  accessId: Hex;
  clinician: Address;
  /** What the clinician's credential disclosed (role, specialty, organisation…) and who verified it. */
  clinicianClaims: Record<string, string>;
  issuerName: string;
  reason: string;
  scope: 'summary' | 'all';
  expiresAt: string;
};

/**
 * A `Recovery` contract event of the reader's identity (or of a patient it is guardian of): `recovery-started`
 * (the first guardian approval of a round), `recovery-approved`, `recovery-ready` (the delay runs: cancel now if
 * you did not ask for it), `recovery-cancelled`, `recovery-finished` (the key was replaced).
 */
export type RecoveryNotification = {
  id: string;
  at: string;
  kind:
    | 'recovery-started'
    | 'recovery-approved'
    | 'recovery-ready'
    | 'recovery-cancelled'
    | 'recovery-finished';
  patient: Address;
  role: 'patient' | 'guardian';
  event: {
    identity: Address;
    guardian?: Address;
    newController?: Address;
    previousController?: Address;
    round?: string;
    approvals?: number;
    threshold?: number;
    readyAt?: string;
    blockNumber: string;
    transactionHash: Hex;
  };
};

/** One row of `GET /v1/emergency/reviews`. */
export type EmergencyReview = {
  at: string;
  outcome: 'allowed' | 'denied';
  /** The refusal's code, or null for a use. */
  code: string | null;
  clinician: Address;
  patient: Address;
  accessId: Hex | null;
  reason: string | null;
  /** The clinician's uses in the window up to this one, and whether that crossed the review threshold. */
  usesInWindow: number;
  flagged: boolean;
};

/** What a patient tells the node about whom to notify. */
export type NotificationSettings = { guardians: Address[]; webhook: { url: string } | null };

/** What the node answers to a settings change: whose guardians it notifies, and where they come from. */
export type NotificationSettingsAnswer = NotificationSettings & {
  /** `recovery-contract`: the guardians of the identity's `Recovery` configuration (the source of truth). */
  guardiansFrom: 'recovery-contract' | 'settings';
  webhookSecret?: string;
};

/**
 * The emergency (break-glass) and notification routes of a node (docs/emergency.md), over a {@link NodeClient}.
 * Refusals are `NodeProblemError`s carrying the node's `code`.
 */
export function createEmergencyClient(parameters: { node: NodeClient; account?: LocalAccount | undefined }) {
  const { node } = parameters;
  const need = (): LocalAccount => {
    if (parameters.account === undefined)
      throw new Error('createEmergencyClient: this call needs an account');
    return parameters.account;
  };
  return {
    info(): Promise<EmergencyInfo> {
      return node.call({ method: 'GET', path: '/v1/emergency' });
    },
    policy(patient: Address): Promise<EmergencyPolicyState> {
      return node.call({ method: 'GET', path: `/v1/emergency/policies/${getAddress(patient)}` });
    },

    /** Signs a `PolicyChange` with the patient's key and relays it; answers once mined (or queued). */
    async setPolicy(options: { patient?: Address; policy: EmergencyPolicyName; deadlineSeconds?: number }) {
      const account = need();
      const patient = options.patient ?? account.address;
      const [info, state] = await Promise.all([this.info(), this.policy(patient)]);
      const message = {
        patient,
        policy: EmergencyPolicy[options.policy],
        nonce: BigInt(state.nonce),
        deadline: BigInt(Math.floor(Date.now() / 1000) + (options.deadlineSeconds ?? 600)),
      };
      const signature = await account.signTypedData(
        toPolicyChangeTypedData({ chainId: info.chainId, verifyingContract: info.contract, message }),
      );
      return node.call<{ status: 'mined' | 'queued'; policy: EmergencyPolicyName; transactionHash?: Hex }>({
        method: 'POST',
        path: '/v1/emergency/policies',
        json: {
          patient,
          policy: options.policy,
          nonce: message.nonce.toString(),
          deadline: message.deadline.toString(),
          signature,
        },
      });
    },

    /** Replaces the patient's emergency stanzas (the summary's, and for policy `all` every record's). */
    putStanzas(body: {
      summary: { recordId: Hex; stanza: string } | null;
      records: { recordId: Hex; stanza: string }[];
    }): Promise<{ summary: Hex | null; records: number }> {
      return node.call({ method: 'PUT', path: '/v1/emergency/stanzas', json: body, signed: true });
    },

    /**
     * Breaks the glass: signs a `BreakGlass` (its access id commits to purpose, reason and recipient) and sends it
     * with a fresh credential presentation (`presentation`, made for `GET /v1/credentials/challenge`'s nonce).
     */
    async open(options: {
      patient: Address;
      reason: string;
      recipient: string;
      presentation?: string | undefined;
      scope?: EmergencyScope;
      purpose?: string;
      durationSeconds?: number;
      salt?: Hex;
    }): Promise<EmergencyAccess> {
      const account = need();
      const info = await this.info();
      const purpose = options.purpose ?? 'ETREAT';
      const salt = options.salt ?? bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
      const now = Math.floor(Date.now() / 1000);
      const message = {
        clinician: account.address,
        patient: getAddress(options.patient),
        scope: options.scope ?? 1,
        accessId: deriveAccessId({ salt, purpose, reason: options.reason, recipient: options.recipient }),
        // A minute short of the 24 h maximum by default: the chain's clock may run a little ahead of this one.
        expiresAt: BigInt(
          now +
            Math.min(
              options.durationSeconds ?? MAX_EMERGENCY_ACCESS_SECONDS - 60,
              MAX_EMERGENCY_ACCESS_SECONDS - 60,
            ),
        ),
        deadline: BigInt(now + 600),
      };
      const signature = await account.signTypedData(
        toBreakGlassTypedData({ chainId: info.chainId, verifyingContract: info.contract, message }),
      );
      return node.call({
        method: 'POST',
        path: '/v1/emergency/access',
        json: {
          clinician: message.clinician,
          patient: message.patient,
          scope: message.scope === 2 ? 'all' : 'summary',
          purpose,
          reason: options.reason,
          recipient: options.recipient,
          salt,
          expiresAt: message.expiresAt.toString(),
          deadline: message.deadline.toString(),
          signature,
          ...(options.presentation === undefined ? {} : { presentation: options.presentation }),
        },
      });
    },

    /** Re-reads an open access (the current summary) while it lasts. */
    access(accessId: Hex): Promise<EmergencyAccess> {
      return node.call({ method: 'GET', path: `/v1/emergency/access/${accessId}`, signed: true });
    },
    reviews(query = ''): Promise<{ reviews: EmergencyReview[] }> {
      return node.call({ method: 'GET', path: `/v1/emergency/reviews${query}`, signed: true });
    },
    notifications(query = ''): Promise<{ notifications: Notification[] }> {
      return node.call({ method: 'GET', path: `/v1/notifications${query}`, signed: true });
    },
    /** Sets whom to notify; a new webhook answers its signing secret once. */
    putNotificationSettings(body: NotificationSettings): Promise<NotificationSettingsAnswer> {
      return node.call({ method: 'PUT', path: '/v1/notifications/settings', json: body, signed: true });
    },
  };
}

/** An emergency client (see {@link createEmergencyClient}). */
export type EmergencyClient = ReturnType<typeof createEmergencyClient>;
