import type { Account, Chain, Client, PublicActions, Transport, WalletActions } from 'viem';

/**
 * A viem client that can read and send: a wallet client with a chain and an
 * account (the relayer, which pays gas), extended with public actions.
 *
 * @example
 * const client = createWalletClient({ account, chain, transport: http(rpcUrl) }).extend(publicActions);
 */
export type ChainClient = Client<Transport, Chain, Account> &
  PublicActions<Transport, Chain, Account> &
  WalletActions<Chain, Account>;

/** A viem client that can read (any public or wallet client). */
export type ReadClient = Client<Transport, Chain | undefined>;
