import { type CheckedStatusList, checkStatusList, toDid, verifyStatusList } from '@carekey/sdk/identity';
import { type Address, bytesToHex, getAddress, hexToBytes } from 'viem';
import type { ApiServices } from '../api/ApiServices.ts';
import type { SqlExecutor } from '../db/Sql.ts';
import type { CachedVaultChain } from '../vault/cacheVaultChain.ts';
import type { GranteeCheck } from '../vault/Vault.ts';
import type { ChainHead } from '../vault/VaultChain.ts';
import { createNodeVerifier, type NodeVerifier } from './nodeVerifier.ts';
import { recheckCredential } from './recheckCredential.ts';
import { parseStatusListUri } from './statusListStore.ts';

export type { GranteeCheck } from '../vault/Vault.ts';

/** How many verified, decoded status lists the gate keeps (one per issuer list and version in use). */
const STATUS_LISTS_KEPT = 64;
/** How many issuers `warm` reads ahead for (the last ones whose credentials the gate checked). */
const ISSUERS_WARMED = 16;

/**
 * The credential gate of key releases (issue 5: "the vault … verify credentials"): a grantee must hold a
 * credential it presented to this node (`POST /v1/credentials`) that still holds now — issuer in `TrustedIssuers`,
 * unexpired, status entry 0 in the issuer's latest list (`recheckCredential`, the check `GET /v1/credentials/{a}`
 * makes). Refusals: `no-credential`, `expired`, `untrusted-issuer`, `revoked`, `status-unavailable`…
 *
 * Every release reads the grantee's stored presentation and the issuer's stored list from SQL (one statement; `many`,
 * for a batch of releases sharing a transaction, one statement for all their grantees), so a new presentation or a
 * republished list counts from the next release; with `sql` (the release's transaction, as
 * `releaseKeys` passes it) through that transaction. With `chain` (the vault's cached chain) and
 * the release's head, the issuer's trust and DID owner are read at that head, once per block for all releases
 * (`cacheVaultChain`); without, at the latest block. A list signed by the issuer DID's owner key itself (no `kid`,
 * or `#controller`) is verified and decompressed once per (list JWT, owner, URI, issuer): for those the answer is a
 * pure function of them — a republished list is another JWT, an issuer key rotation another owner. A list signed
 * through an ERC-1271 owner or a delegate depends on chain state beyond the owner (the delegate's validity, the
 * contract's answer): it is verified on every release.
 */
export function createCredentialGate(
  services: Pick<ApiServices, 'chain' | 'sql'>,
  chain?: CachedVaultChain | undefined,
): GranteeCheck {
  const latest = createNodeVerifier(services);
  const lists = new Map<string, CheckedStatusList>();
  const verifyList: typeof verifyStatusList = async (parameters) => {
    const { jwt, owner, uri, issuer } = parameters;
    const key = `${owner?.toLowerCase() ?? ''}\n${uri ?? ''}\n${issuer ?? ''}\n${jwt}`;
    const kept = lists.get(key);
    if (kept !== undefined) return kept;
    const checked = await verifyStatusList(parameters); // throws on a list that does not verify: never kept
    if (owner !== undefined && signedByOwnerKey(jwt, owner, uri)) {
      if (lists.size >= STATUS_LISTS_KEPT) lists.delete(lists.keys().next().value as string);
      lists.set(key, checked);
    }
    return checked;
  };
  // Issuers of the last credentials checked: `warm` starts their trust and owner reads at a new head before the
  // release's transaction, so the check inside it finds them read (or in flight) instead of holding it open.
  const recentIssuers = new Set<Address>();
  type Presented = {
    identity: Uint8Array;
    issuer: Uint8Array;
    status_uri: string;
    status_idx: number;
    expires_at: number | bigint | string;
    list_issuer: Uint8Array | null;
    list_id: string | null;
    list_jwt: string | null;
  };
  // One statement for any number of grantees: each one's presentation and, joined on the list its status URI names
  // (parsed here by a pattern), the stored list. The join is only a prefetch: `fetchStatusList` uses it when
  // `parseStatusListUri` names the same issuer and list id, and reads the list itself otherwise.
  const readPresented = async (grantees: readonly Address[], sql: SqlExecutor) => {
    const { rows } = await sql.query<Presented>(
      `select p.identity, p.issuer, p.status_uri, p.status_idx, p.expires_at,
              l.issuer as list_issuer, l.list_id, l.jwt as list_jwt
       from identity_presentations p
       left join identity_status_lists l
         on l.issuer = decode(substring(p.status_uri from '/v1/status-lists/0x([0-9a-fA-F]{40})/[A-Za-z0-9_-]{1,64}$'), 'hex')
        and l.list_id = substring(p.status_uri from '/v1/status-lists/0x[0-9a-fA-F]{40}/([A-Za-z0-9_-]{1,64})$')
       where p.identity = any($1::bytea[])`,
      [[...new Set(grantees.map((g) => g.toLowerCase() as Address))].map((g) => hexToBytes(g))],
    );
    return new Map(rows.map((row) => [bytesToHex(row.identity), row]));
  };
  const decide = async (
    row: Presented | undefined,
    head: ChainHead | undefined,
    sql: SqlExecutor | undefined,
  ): Promise<string | undefined> => {
    if (row === undefined) return 'no-credential';
    const issuer = getAddress(bytesToHex(row.issuer));
    recentIssuers.delete(issuer);
    recentIssuers.add(issuer);
    if (recentIssuers.size > ISSUERS_WARMED)
      recentIssuers.delete(recentIssuers.values().next().value as Address);
    const base =
      chain !== undefined && head !== undefined
        ? createNodeVerifier(services, { head, chain, ...(sql === undefined ? {} : { sql }) })
        : sql === undefined
          ? latest
          : createNodeVerifier(services, { sql });
    const prefetched = prefetchedList(row);
    const verifier: NodeVerifier =
      prefetched === undefined
        ? base
        : {
            ...base,
            fetchStatusList: (uri) =>
              uri === row.status_uri ? Promise.resolve(prefetched) : base.fetchStatusList(uri),
          };
    return recheckCredential(
      verifier,
      {
        issuer,
        issuerDid: toDid({ address: issuer, chainId: services.chain.chainId }),
        statusUri: row.status_uri,
        statusIdx: row.status_idx,
        expiresAt: Number(row.expires_at),
      },
      undefined,
      verifyList,
    );
  };
  const gate: GranteeCheck = async (grantee, head, sql) =>
    decide(
      (await readPresented([grantee], sql ?? services.sql)).get(grantee.toLowerCase() as Address),
      head,
      sql,
    );
  // A batch of releases: one statement reads every grantee's presentation, then each is decided as alone.
  gate.many = async (checks, sql) => {
    const presented = await readPresented(
      checks.map((c) => c.grantee),
      sql ?? services.sql,
    );
    const answers: PromiseSettledResult<string | undefined>[] = [];
    for (const { grantee, head } of checks) {
      try {
        answers.push({
          status: 'fulfilled',
          value: await decide(presented.get(grantee.toLowerCase() as Address), head, sql),
        });
      } catch (reason) {
        answers.push({ status: 'rejected', reason });
      }
    }
    return answers;
  };
  if (chain !== undefined)
    gate.warm = (head) => {
      for (const issuer of recentIssuers) {
        const verifier = createNodeVerifier(services, { head, chain });
        // Errors are the check's to report (a failed read is not kept: the check reads again).
        verifier.isTrustedIssuer(issuer).catch(() => {});
        verifier.resolveOwner(toDid({ address: issuer, chainId: services.chain.chainId })).catch(() => {});
      }
    };
  return gate;
}

/**
 * The list JWT the gate's statement joined to a presentation, when `parseStatusListUri` (what `fetchStatusList`
 * goes by) names exactly the issuer and list id of the joined row; `undefined` to read it the usual way.
 */
function prefetchedList(row: {
  status_uri: string;
  list_issuer: Uint8Array | null;
  list_id: string | null;
  list_jwt: string | null;
}): string | undefined {
  if (row.list_issuer === null || row.list_id === null || row.list_jwt === null) return undefined;
  const where = parseStatusListUri(row.status_uri);
  if (where === undefined || where.listId !== row.list_id) return undefined;
  return bytesToHex(row.list_issuer) === where.issuer.toLowerCase() ? row.list_jwt : undefined;
}

/**
 * Whether the list JWT carries the signature of the `owner` key itself, under no `kid` or a `#controller` one — the
 * only case `verifyDidJws` decides from the owner alone (an ERC-1271 owner or a delegate is read at the chain).
 */
function signedByOwnerKey(jwt: string, owner: Address, uri: string | undefined): boolean {
  let kid: unknown;
  try {
    kid = (
      JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: unknown }
    ).kid;
    checkStatusList({ jwt, owner, uri }); // throws unless the owner key signed it
  } catch {
    return false;
  }
  return kid === undefined || (typeof kid === 'string' && kid.endsWith('#controller'));
}
