// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EthereumDIDRegistry} from "ethr-did-registry/contracts/EthereumDIDRegistry.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {IIdentityRegistry} from "../src/identity/IIdentityRegistry.sol";
import {ConsentRegistryHandler} from "./handlers/ConsentRegistryHandler.sol";
import {Test} from "./utils/Test.sol";

contract ConsentRegistryInvariantTest is Test {
    ConsentRegistry internal consent;
    ConsentRegistryHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        EthereumDIDRegistry didRegistry = new EthereumDIDRegistry();
        consent = new ConsentRegistry(IIdentityRegistry(address(didRegistry)));
        handler = new ConsentRegistryHandler(consent, didRegistry);
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = ConsentRegistryHandler.grantAsOwner.selector;
        selectors[1] = ConsentRegistryHandler.grantSignedByOwner.selector;
        selectors[2] = ConsentRegistryHandler.revokeAsOwner.selector;
        selectors[3] = ConsentRegistryHandler.rotateOwner.selector;
        selectors[4] = ConsentRegistryHandler.warp.selector;
        selectors[5] = ConsentRegistryHandler.grantAsRandomCaller.selector;
        selectors[6] = ConsentRegistryHandler.grantSignedByRandomKey.selector;
        selectors[7] = ConsentRegistryHandler.revokeAsRandomCaller.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice T-3/T-4: a revoked or expired grant is never active; a live one always is.
    function invariant_T4_RevokedOrExpiredGrantNeverActive() public view {
        uint256 count = handler.grantCount();
        for (uint256 i = 0; i < count; i++) {
            bytes32 grantId = handler.grantIds(i);
            ConsentRegistry.Grant memory grant = consent.getGrant(grantId);
            assertEq(grant.revoked, handler.ghostRevoked(grantId), "revocation matches the owners' actions");
            bool shouldBeActive = !grant.revoked && block.timestamp < grant.expiresAt;
            assertEq(consent.isActive(grantId), shouldBeActive, "active iff not revoked and not expired");
        }
    }

    /// @notice T-6: only the identity owner grants or revokes; random callers and keys change nothing.
    function invariant_T6_OnlyIdentityOwnerMutates() public view {
        assertFalse(handler.unauthorizedMutation(), "a non-owner changed consent state");
        for (uint256 i = 0; i < 2; i++) {
            address patient = handler.patients(i);
            assertEq(consent.grantCount(patient), handler.ghostGrantCount(patient), "grants only from owners");
        }
    }
}
