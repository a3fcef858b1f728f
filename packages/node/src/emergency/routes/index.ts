/** The emergency (break-glass) and notification routes (docs/emergency.md). */
import type { AnyRoute } from '../../api/defineRoute.ts';
import { getEmergency } from './getEmergency.ts';
import { getEmergencyAccess } from './getEmergencyAccess.ts';
import { getEmergencyPolicy } from './getEmergencyPolicy.ts';
import { getEmergencyReviews } from './getEmergencyReviews.ts';
import { getNotifications } from './getNotifications.ts';
import { postEmergencyAccess } from './postEmergencyAccess.ts';
import { postEmergencyPolicy } from './postEmergencyPolicy.ts';
import { putEmergencyStanzas } from './putEmergencyStanzas.ts';
import { putNotificationSettings } from './putNotificationSettings.ts';

export const emergencyRoutes: readonly AnyRoute[] = [
  getEmergency,
  getEmergencyPolicy,
  postEmergencyPolicy,
  putEmergencyStanzas,
  postEmergencyAccess,
  getEmergencyAccess,
  getEmergencyReviews,
  getNotifications,
  putNotificationSettings,
];
