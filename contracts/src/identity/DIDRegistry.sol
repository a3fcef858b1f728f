// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// The ERC-1056 identity registry Carekey deploys (uPort/Veramo `ethr-did-registry`
// 1.3.0, unmodified). Importing it here makes `EthereumDIDRegistry` part of this
// project's build so tests and the deploy artifacts share one bytecode.
import {EthereumDIDRegistry} from "ethr-did-registry/contracts/EthereumDIDRegistry.sol";
