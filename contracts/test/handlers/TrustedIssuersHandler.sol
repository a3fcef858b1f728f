// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EthereumDIDRegistry} from "ethr-did-registry/contracts/EthereumDIDRegistry.sol";
import {TrustedIssuers} from "../../src/TrustedIssuers.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives TrustedIssuers for the invariant campaign: governors approve additions and
///         removals, rotate keys; outsiders try the same. Ghost state tracks who approved what in
///         each issuer's epoch, so the invariant can check that every change had m approvals.
contract TrustedIssuersHandler {
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    TrustedIssuers public immutable trusted;
    EthereumDIDRegistry public immutable didRegistry;
    address[3] public governors;
    uint256[3] public ownerKeys;
    address[4] public issuers = [address(0x1551), address(0x1552), address(0x1553), address(0x1554)];

    /// @notice Distinct governors who approved the change that is pending for an issuer now.
    mapping(address issuer => uint256) public ghostPending;
    /// @notice What the ghost model says the trust state is.
    mapping(address issuer => bool) public ghostTrusted;
    /// @notice Set if an outsider's call succeeded.
    bool public unauthorizedMutation;
    /// @notice Set if a change applied with fewer than threshold approvals.
    bool public appliedEarly;

    constructor(TrustedIssuers trusted_, EthereumDIDRegistry didRegistry_, uint256[3] memory keys) {
        trusted = trusted_;
        didRegistry = didRegistry_;
        ownerKeys = keys;
        for (uint256 i = 0; i < 3; i++) {
            governors[i] = vm.addr(keys[i]);
        }
    }

    function approve(uint256 who, uint256 which) external {
        uint256 g = who % 3;
        address issuer = issuers[which % 4];
        uint8 action = ghostTrusted[issuer] ? 1 : 0;
        vm.prank(vm.addr(ownerKeys[g]));
        try trusted.approve(governors[g], action, issuer) returns (bool applied) {
            uint256 count = ghostPending[issuer] + 1;
            if (applied) {
                if (count < trusted.threshold()) appliedEarly = true;
                ghostTrusted[issuer] = action == 0;
                ghostPending[issuer] = 0;
            } else {
                ghostPending[issuer] = count;
            }
        } catch {}
    }

    function rotate(uint256 who, uint256 newKey) external {
        uint256 g = who % 3;
        newKey = 1 + (newKey % 1_000_000);
        vm.prank(vm.addr(ownerKeys[g]));
        didRegistry.changeOwner(governors[g], vm.addr(newKey));
        ownerKeys[g] = newKey;
    }

    function outsiderApproves(address caller, uint256 who, uint256 which, bool remove) external {
        address governor = governors[who % 3];
        // An "outsider" the fuzzer drew from the governors or their owners is not one: its approvals are
        // legitimate and would be missed by the ghost model.
        for (uint256 i = 0; i < 3; i++) {
            if (caller == governors[i] || caller == didRegistry.identityOwner(governors[i])) return;
        }
        vm.prank(caller);
        try trusted.approve(governor, remove ? 1 : 0, issuers[which % 4]) {
            unauthorizedMutation = true;
        } catch {}
        vm.prank(caller);
        try trusted.approve(caller, remove ? 1 : 0, issuers[which % 4]) {
            if (!trusted.isGovernor(caller)) unauthorizedMutation = true;
        } catch {}
    }

    function issuerCount() external pure returns (uint256) {
        return 4;
    }
}
