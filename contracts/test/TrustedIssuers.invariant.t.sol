// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EthereumDIDRegistry} from "ethr-did-registry/contracts/EthereumDIDRegistry.sol";
import {IIdentityRegistry} from "../src/identity/IIdentityRegistry.sol";
import {TrustedIssuers} from "../src/TrustedIssuers.sol";
import {TrustedIssuersHandler} from "./handlers/TrustedIssuersHandler.sol";
import {Test} from "./utils/Test.sol";

contract TrustedIssuersInvariantTest is Test {
    TrustedIssuers internal trusted;
    TrustedIssuersHandler internal handler;

    function setUp() public {
        EthereumDIDRegistry didRegistry = new EthereumDIDRegistry();
        uint256[3] memory keys = [uint256(0x601), uint256(0x602), uint256(0x603)];
        address[] memory govs = new address[](3);
        for (uint256 i = 0; i < 3; i++) {
            govs[i] = vm.addr(keys[i]);
        }
        trusted = new TrustedIssuers(IIdentityRegistry(address(didRegistry)), govs, 2);
        handler = new TrustedIssuersHandler(trusted, didRegistry, keys);
        bytes4[] memory selectors = new bytes4[](3);
        selectors[0] = TrustedIssuersHandler.approve.selector;
        selectors[1] = TrustedIssuersHandler.rotate.selector;
        selectors[2] = TrustedIssuersHandler.outsiderApproves.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice T-7: the trust list is exactly what m-of-n governor approvals made it; outsiders change nothing.
    function invariant_T7_TrustOnlyByThresholdApprovals() public view {
        assertFalse(handler.unauthorizedMutation(), "an outsider changed the trust list");
        assertFalse(handler.appliedEarly(), "a change applied below the threshold");
        uint256 listed;
        for (uint256 i = 0; i < handler.issuerCount(); i++) {
            address issuer = handler.issuers(i);
            assertEq(trusted.isTrusted(issuer), handler.ghostTrusted(issuer), "trust matches the approvals");
            uint8 pendingAction = handler.ghostTrusted(issuer) ? 1 : 0;
            assertEq(trusted.approvals(pendingAction, issuer), handler.ghostPending(issuer), "pending count");
            assertTrue(trusted.approvals(pendingAction, issuer) < trusted.threshold(), "pending stays below m");
            if (trusted.isTrusted(issuer)) listed++;
        }
        assertEq(trusted.trustedIssuers().length, listed, "list matches");
    }
}
