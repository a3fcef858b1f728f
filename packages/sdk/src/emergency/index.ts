/**
 * `@carekey/sdk/emergency`: break-glass access (docs/emergency.md) — the `Emergency` contract's ABI, its EIP-712
 * messages, policies, and a client of the node's emergency and notification routes. Isomorphic.
 */
export { emergencyAbi, emergencyBytecode } from '../chain/abi/index.ts';
export {
  createEmergencyClient,
  type EmergencyAccess,
  type EmergencyClient,
  type EmergencyInfo,
  type EmergencyNotification,
  type EmergencyPolicyState,
  type EmergencyRelease,
  type EmergencyReview,
  type Notification,
  type NotificationSettings,
  type NotificationSettingsAnswer,
  type RecoveryNotification,
} from './createEmergencyClient.ts';
export {
  EmergencyPolicy,
  type EmergencyPolicyName,
  type EmergencyPolicyValue,
  type EmergencyScope,
  emergencyPolicyName,
  InvalidEmergencyPolicyError,
  MAX_EMERGENCY_ACCESS_SECONDS,
  parseEmergencyPolicy,
} from './emergencyPolicy.ts';
export {
  type AccessIdInput,
  type BreakGlassMessage,
  breakGlassTypes,
  deriveAccessId,
  EMERGENCY_DOMAIN_NAME,
  hashBreakGlass,
  hashPolicyChange,
  type PolicyChangeMessage,
  policyChangeTypes,
  toBreakGlassTypedData,
  toPolicyChangeTypedData,
} from './emergencyTypedData.ts';
