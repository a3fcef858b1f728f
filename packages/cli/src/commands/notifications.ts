import type { Notification } from '@carekey/sdk/emergency';
import { parseIdentityRef } from '@carekey/sdk/identity';
import type { Command } from 'commander';
import type { Address } from 'viem';
import { output } from '../io/output.ts';
import { emergencyClientOf } from './emergency.ts';
import { openSession } from './openSession.ts';

type NotificationsOptions = { guardian?: string[]; webhook?: string; json?: boolean };

/** One notification in plain words (two lines for a break-glass). */
export function describeNotification(n: Notification): string[] {
  const whose = n.role === 'patient' ? 'your' : `patient ${n.patient}'s`;
  if (n.kind === 'emergency-access') {
    const claims = n.clinicianClaims;
    const who = [claims.role, claims.specialty, claims.organisation].filter(Boolean).join(', ');
    return [
      `${n.at}  BREAK-GLASS  ${n.clinician} (${who || 'clinician'} — verified by ${n.issuerName}) opened ${whose} emergency ${n.scope === 'all' ? 'records' : 'summary'} until ${n.expiresAt}`,
      `    reason: ${n.reason}`,
    ];
  }
  const e = n.event;
  const of = n.role === 'patient' ? 'your identity' : `patient ${n.patient}`;
  const count = e.approvals === undefined ? '' : ` (${e.approvals} of ${e.threshold ?? '?'})`;
  switch (n.kind) {
    case 'recovery-started':
      return [
        `${n.at}  RECOVERY STARTED  guardian ${e.guardian} approved moving ${of} to key ${e.newController}${count}`,
        n.role === 'patient'
          ? '    if you did not ask for it: `carekey guardians cancel`'
          : '    check with the patient that it is really them',
      ];
    case 'recovery-approved':
      return [
        `${n.at}  RECOVERY APPROVED  guardian ${e.guardian} approved moving ${of} to key ${e.newController}${count}`,
      ];
    case 'recovery-ready':
      return [
        `${n.at}  RECOVERY READY  ${of} moves to key ${e.newController} from chain time ${e.readyAt}; the key in control can cancel until then`,
      ];
    case 'recovery-cancelled':
      return [
        `${n.at}  RECOVERY CANCELLED  of ${of} (round ${e.round}): its approvals count for nothing now`,
      ];
    case 'recovery-finished':
      return [
        `${n.at}  RECOVERY FINISHED  ${of} now answers to key ${e.newController}; the old key ${e.previousController} is powerless`,
      ];
  }
}

/**
 * `carekey notifications`: your feed — every break-glass on your records and every recovery event of your identity
 * (and the same for patients whose guardian you are). `--guardian <did>` (repeatable) and `--webhook <https
 * url|none>` set whom the node tells (with stolen-phone recovery on, the guardians are your Recovery contract's);
 * a new webhook's signing secret is printed once.
 */
export function registerNotifications(program: Command): void {
  program
    .command('notifications')
    .description('break-glass and recovery notifications about you (and patients you are guardian of)')
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
          const from = settings.guardiansFrom === 'recovery-contract' ? ' (from your Recovery contract)' : '';
          lines.push(
            `Notifying: you${settings.guardians.length > 0 ? ` and ${settings.guardians.length} guardian(s)${from}` : ''}${settings.webhook ? `, webhook ${settings.webhook.url}` : ''}.`,
          );
          if (settings.webhookSecret !== undefined) {
            lines.push(`Webhook signing secret (shown once, keep it): ${settings.webhookSecret}`);
          }
        }
        if (notifications.length === 0) lines.push('No notifications.');
        for (const n of notifications) lines.push(...describeNotification(n));
        return lines.join('\n');
      });
    });
}
