import { createRequire } from 'node:module';
import type { Abi, Hex } from 'viem';

/**
 * A tiny contract whose state shows exactly how many times each write landed:
 * `bump(key)` adds one to `hits(key)` and to `count`; `bumpBelow(key, limit)`
 * reverts with `CounterLimitReached(count, limit)` once `count >= limit`; `bumpAt(key, expected)` reverts with
 * `CounterNotAt(count, expected)` unless `count == expected` — a write that depends on the one before it, like the
 * EIP-712 nonce of a relayed signature; `touch(key)` adds one to `hits(key)` only (a write independent of them).
 */
export const COUNTER_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Counter {
  error CounterLimitReached(uint256 count, uint256 limit);
  error CounterNotAt(uint256 count, uint256 expected);
  uint256 public count;
  mapping(bytes32 => uint256) public hits;
  function bump(bytes32 key) external { hits[key] += 1; count += 1; }
  function bumpBelow(bytes32 key, uint256 limit) external {
    if (count >= limit) revert CounterLimitReached(count, limit);
    hits[key] += 1; count += 1;
  }
  function touch(bytes32 key) external { hits[key] += 1; }
  function bumpAt(bytes32 key, uint256 expected) external {
    if (count != expected) revert CounterNotAt(count, expected);
    hits[key] += 1; count += 1;
  }
}
`;

export type CompiledContract = { abi: Abi; bytecode: Hex };

/** Compiles {@link COUNTER_SOURCE} with solc-js (the same compiler the contracts workspace uses). */
export function compileCounter(): CompiledContract {
  const require = createRequire(import.meta.url);
  const solc = require('solc') as { compile(input: string): string };
  const output = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'Counter.sol': { content: COUNTER_SOURCE } },
        settings: { outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
      }),
    ),
  ) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0)
    throw new Error(`Counter.sol does not compile:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const counter = output.contracts['Counter.sol']?.Counter;
  if (!counter) throw new Error('solc returned no Counter contract');
  return { abi: counter.abi, bytecode: `0x${counter.evm.bytecode.object}` };
}
