import type { PortalNotification } from '../lib/actions.ts';
import { recoveryNoticeWords } from '../lib/notificationWords.ts';
import { formatUntil } from '../lib/shareSummary.ts';

/**
 * One notification of the feed other than a break-glass: a recovery event in plain words (who, what, when, what to
 * do), with a way to review it in Guardians when it may be an attack on my identity; a kind this portal does not know
 * by its name.
 */
export function NoticeItem({ notice, onRecovery }: { notice: PortalNotification; onRecovery: () => void }) {
  const words = recoveryNoticeWords(notice);
  if (words === undefined)
    return (
      <li>
        {formatUntil(new Date(notice.at))}: {notice.kind.replaceAll('-', ' ')}
      </li>
    );
  return (
    <li className={words.urgent ? 'urgent' : undefined} data-kind={notice.kind}>
      {words.urgent ? <strong>{words.text}</strong> : words.text}
      {words.todo === undefined ? null : <> {words.todo}</>}
      {words.urgent ? (
        <>
          {' '}
          <button type="button" className="link" onClick={onRecovery}>
            Review it in Guardians
          </button>
        </>
      ) : null}
    </li>
  );
}
