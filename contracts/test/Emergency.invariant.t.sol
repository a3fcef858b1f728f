// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EthereumDIDRegistry} from "ethr-did-registry/contracts/EthereumDIDRegistry.sol";
import {Emergency} from "../src/Emergency.sol";
import {IIdentityRegistry} from "../src/identity/IIdentityRegistry.sol";
import {EmergencyHandler} from "./handlers/EmergencyHandler.sol";
import {Test} from "./utils/Test.sol";

contract EmergencyInvariantTest is Test {
    Emergency internal emergency;
    EmergencyHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        EthereumDIDRegistry didRegistry = new EthereumDIDRegistry();
        address operator = vm.addr(0x0FE7);
        emergency = new Emergency(IIdentityRegistry(address(didRegistry)), operator);
        handler = new EmergencyHandler(emergency, didRegistry, 0xA11CE, 0xB0B, operator);
        bytes4[] memory selectors = new bytes4[](4);
        selectors[0] = EmergencyHandler.setPolicy.selector;
        selectors[1] = EmergencyHandler.rotate.selector;
        selectors[2] = EmergencyHandler.breakGlass.selector;
        selectors[3] = EmergencyHandler.outsiderActs.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice T-16: the policy is what the patient's current owner set; a break-glass happens only within it, only
    ///         through the operator with the clinician's own signature; outsiders change nothing.
    function invariant_T16_BreakGlassOnlyWithinPolicy() public view {
        assertFalse(handler.violation(), "a break-glass beyond the policy, or an outsider's change, succeeded");
        assertEq(uint256(emergency.policyOf(handler.patient())), uint256(handler.ghostPolicy()), "policy as set");
    }
}
