import type { X25519Identity } from '@carekey/sdk/crypto';
import type { Address } from 'viem';

/** Limits against fishing through many patients (THREAT-MODEL T-16, F-15) and webhook rules (T-21). */
export type EmergencySettings = {
  /** Break-glass uses one clinician may make per window; the next is refused 429 and listed for review. */
  perClinician: number;
  /** The window, seconds. */
  windowSeconds: number;
  /** A use is flagged for review once the clinician's uses in the window reach this many. */
  flagAfter: number;
  /** Allow webhooks to private, loopback and link-local addresses (tests only; T-21). */
  allowPrivateWebhooks: boolean;
  /** Delivery attempts per webhook notification before it is marked failed. */
  webhookAttempts: number;
  /** First retry delay, ms (doubles per attempt). */
  webhookRetryMs: number;
};

export const DEFAULT_EMERGENCY_SETTINGS: EmergencySettings = {
  perClinician: 10,
  windowSeconds: 86_400,
  flagAfter: 3,
  allowPrivateWebhooks: false,
  webhookAttempts: 6,
  webhookRetryMs: 5_000,
};

/**
 * Reads `CAREKEY_EMERGENCY_PER_CLINICIAN`, `CAREKEY_EMERGENCY_WINDOW_S`, `CAREKEY_EMERGENCY_FLAG_AFTER` and
 * `CAREKEY_WEBHOOK_ALLOW_PRIVATE=1` over the defaults.
 *
 * @throws {Error} a value that is not a positive integer.
 */
export function loadEmergencySettings(env: NodeJS.ProcessEnv = process.env): EmergencySettings {
  const read = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^[1-9][0-9]{0,8}$/u.test(raw))
      throw new Error(`${name}=${JSON.stringify(raw)} is not an integer ≥ 1`);
    return Number(raw);
  };
  return {
    ...DEFAULT_EMERGENCY_SETTINGS,
    perClinician: read('CAREKEY_EMERGENCY_PER_CLINICIAN', DEFAULT_EMERGENCY_SETTINGS.perClinician),
    windowSeconds: read('CAREKEY_EMERGENCY_WINDOW_S', DEFAULT_EMERGENCY_SETTINGS.windowSeconds),
    flagAfter: read('CAREKEY_EMERGENCY_FLAG_AFTER', DEFAULT_EMERGENCY_SETTINGS.flagAfter),
    allowPrivateWebhooks: env.CAREKEY_WEBHOOK_ALLOW_PRIVATE === '1',
  };
}

/** What the emergency routes use beyond the common services (built in `startNode`). */
export type EmergencyServices = {
  /** The node's emergency key (never served). */
  identity: X25519Identity;
  /** The key being replaced, only while a rotation re-wraps the stanzas (a break-glass opens with either). */
  previous?: X25519Identity | undefined;
  /** Its age recipient, published at `GET /v1/emergency`. */
  recipient: string;
  /** The Emergency contract. */
  contract: Address;
  settings: EmergencySettings;
  /** Wakes the webhook delivery loop. */
  wakeWebhooks(): void;
};
