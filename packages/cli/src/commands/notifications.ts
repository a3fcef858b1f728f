import { parseIdentityRef } from '@carekey/sdk/identity';
import type { Command } from 'commander';
import type { Address } from 'viem';
import { output } from '../io/output.ts';
import { emergencyClientOf } from './emergency.ts';
import { openSession } from './openSession.ts';

type NotificationsOptions = { guardian?: string[]; webhook?: string; json?: boolean };

/**
 * `carekey notifications`: your feed — every break-glass on your records (and on the records of patients who named
 * you their guardian). `--guardian <did>` (repeatable) and `--webhook <https url|none>` set whom the node
 * tells; a new webhook's signing secret is printed once.
 */
export function registerNotifications(program: Command): void {
  program
    .command('notifications')
    .description('break-glass notifications about your records (and patients you are guardian of)')
    .option(
      '--guardian <did>',
      'notify this guardian too (repeat for several; replaces the list)',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option(
      '--webhook <url>',
      "also POST each notification (signed, no health data) to this https URL; 'none' removes it",
    )
    .option('--json', 'print JSON')
    .action(async (options: NotificationsOptions) => {
      const guardians: Address[] | undefined = options.guardian?.map((g) => parseIdentityRef(g));
      const changeWebhook = options.webhook !== undefined;
      const session = await openSession();
      const api = emergencyClientOf(session);
      let settings: Awaited<ReturnType<typeof api.putNotificationSettings>> | undefined;
      if (guardians !== undefined || changeWebhook) {
        settings = await api.putNotificationSettings({
          guardians: guardians ?? [],
          webhook:
            options.webhook === undefined || options.webhook === 'none' ? null : { url: options.webhook },
        });
      }
      const { notifications } = await api.notifications();
      output(options, { notifications, ...(settings === undefined ? {} : { settings }) }, () => {
        const lines: string[] = [];
        if (settings !== undefined) {
          lines.push(
            `Notifying: you${settings.guardians.length > 0 ? ` and ${settings.guardians.length} guardian(s)` : ''}${settings.webhook ? `, webhook ${settings.webhook.url}` : ''}.`,
          );
          if (settings.webhookSecret !== undefined) {
            lines.push(`Webhook signing secret (shown once, keep it): ${settings.webhookSecret}`);
          }
        }
        if (notifications.length === 0) lines.push('No notifications.');
        for (const n of notifications) {
          const claims = n.clinicianClaims;
          const who = [claims.role, claims.specialty, claims.organisation].filter(Boolean).join(', ');
          const whose = n.role === 'patient' ? 'your' : `patient ${n.patient}'s`;
          lines.push(
            `${n.at}  BREAK-GLASS  ${n.clinician} (${who || 'clinician'} — verified by ${n.issuerName}) opened ${whose} emergency ${n.scope === 'all' ? 'records' : 'summary'} until ${n.expiresAt}`,
            `    reason: ${n.reason}`,
          );
        }
        return lines.join('\n');
      });
    });
}
