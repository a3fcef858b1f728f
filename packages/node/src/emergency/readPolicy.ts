import { type EmergencyPolicyName, emergencyAbi, emergencyPolicyName } from '@carekey/sdk/emergency';
import { type Address, decodeFunctionData, getAddress, type Hex, isAddressEqual } from 'viem';
import { readContract } from 'viem/actions';
import type { ApiServices } from '../api/ApiServices.ts';
import { readChain } from '../api/readChain.ts';
import { needEmergency } from './openEmergencyAccess.ts';

/** A patient's policy at the head and the nonce its next `PolicyChange` must carry (past queued ones). */
export async function readPolicy(
  services: ApiServices,
  patient: Address,
): Promise<{ policy: EmergencyPolicyName; chainNonce: bigint; nonce: bigint; queued: number }> {
  const emergency = needEmergency(services);
  const { client } = services.chain;
  const [policy, chainNonce] = await readChain(() =>
    Promise.all([
      readContract(client, {
        abi: emergencyAbi,
        address: emergency.contract,
        functionName: 'policyOf',
        args: [patient],
      }),
      readContract(client, {
        abi: emergencyAbi,
        address: emergency.contract,
        functionName: 'nonces',
        args: [patient],
      }),
    ]),
  );
  const { rows } = await services.sql.query<{ data: Hex }>(
    `select payload->>'data' as data from outbox where status in ('pending', 'submitted') and payload->>'to' = $1`,
    [getAddress(emergency.contract)],
  );
  let nonce = chainNonce;
  let queued = 0;
  for (const row of rows) {
    try {
      const call = decodeFunctionData({ abi: emergencyAbi, data: row.data });
      if (call.functionName !== 'setPolicySigned' || !isAddressEqual(call.args[0], patient)) continue;
      if (call.args[2] < chainNonce) continue;
      queued++;
      if (call.args[2] + 1n > nonce) nonce = call.args[2] + 1n;
    } catch {}
  }
  return { policy: emergencyPolicyName(Number(policy)), chainNonce, nonce, queued };
}
