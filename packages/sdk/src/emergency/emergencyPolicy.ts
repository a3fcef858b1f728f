import { BaseError } from '../errors/BaseError.ts';

/** A patient's break-glass policy as the `Emergency` contract numbers it. */
export const EmergencyPolicy = { off: 0, summary: 1, all: 2 } as const;
export type EmergencyPolicyName = keyof typeof EmergencyPolicy;
export type EmergencyPolicyValue = (typeof EmergencyPolicy)[EmergencyPolicyName];
/** What a break-glass asks for: the summary, or everything the patient wrapped to the emergency key. */
export type EmergencyScope = 1 | 2;

/** The longest a break-glass access lasts, seconds (the contract's `MAX_ACCESS_DURATION`; R-3). */
export const MAX_EMERGENCY_ACCESS_SECONDS = 86_400;

/** A policy name or number that is not off / summary / all. */
export class InvalidEmergencyPolicyError extends BaseError {
  override name = 'InvalidEmergencyPolicyError';
}

/**
 * Parses `off`, `summary` or `all`.
 * @throws InvalidEmergencyPolicyError for anything else.
 */
export function parseEmergencyPolicy(value: string): EmergencyPolicyValue {
  if (Object.hasOwn(EmergencyPolicy, value)) return EmergencyPolicy[value as EmergencyPolicyName];
  throw new InvalidEmergencyPolicyError(`unknown emergency policy '${value.slice(0, 20)}'`, {
    hint: 'use off, summary or all',
  });
}

/** The name of a policy number. */
export function emergencyPolicyName(value: number): EmergencyPolicyName {
  const name = (Object.keys(EmergencyPolicy) as EmergencyPolicyName[]).find(
    (k) => EmergencyPolicy[k] === value,
  );
  if (name === undefined) {
    throw new InvalidEmergencyPolicyError(`unknown emergency policy number ${value}`, {
      hint: 'the Emergency contract knows 0 (off), 1 (summary), 2 (all)',
    });
  }
  return name;
}
