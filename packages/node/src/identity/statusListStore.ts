import { type Address, hexToBytes } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';

/** The path a Carekey node serves an issuer's status list at (the `uri` credentials carry ends with it). */
export function statusListPath(issuer: Address, listId: string): string {
  return `/v1/status-lists/${issuer}/${listId}`;
}

const PATH = /^\/v1\/status-lists\/(0x[0-9a-fA-F]{40})\/([A-Za-z0-9_-]{1,64})$/u;

/** The issuer and list id a status list URI names on a Carekey node, or `undefined`. */
export function parseStatusListUri(uri: string): { issuer: Address; listId: string } | undefined {
  let path: string;
  try {
    path = new URL(uri).pathname;
  } catch {
    return undefined;
  }
  const match = PATH.exec(path);
  return match?.[1] && match[2] ? { issuer: match[1] as Address, listId: match[2] } : undefined;
}

/** Reads the stored status list JWT, or `undefined`. */
export async function readStatusList(
  sql: SqlExecutor,
  issuer: Address,
  listId: string,
): Promise<{ jwt: string; iat: number } | undefined> {
  const { rows } = await sql.query<{ jwt: string; iat: string | bigint | number }>(
    'select jwt, iat from identity_status_lists where issuer = $1 and list_id = $2',
    [hexToBytes(issuer), listId],
  );
  const row = rows[0];
  return row === undefined ? undefined : { jwt: row.jwt, iat: Number(row.iat) };
}

/** Stores a (verified) status list unless a newer one is stored; returns whether it was stored. */
export async function writeStatusList(
  sql: SqlExecutor,
  entry: { issuer: Address; listId: string; jwt: string; iat: number },
): Promise<boolean> {
  const { rowCount } = await sql.query(
    `insert into identity_status_lists (issuer, list_id, jwt, iat) values ($1, $2, $3, $4)
     on conflict (issuer, list_id) do update set jwt = excluded.jwt, iat = excluded.iat, updated_at = now()
     where identity_status_lists.iat < excluded.iat`,
    [hexToBytes(entry.issuer), entry.listId, entry.jwt, entry.iat],
  );
  return rowCount > 0;
}
