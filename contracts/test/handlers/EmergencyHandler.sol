// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EthereumDIDRegistry} from "ethr-did-registry/contracts/EthereumDIDRegistry.sol";
import {Emergency} from "../../src/Emergency.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives Emergency for the invariant campaign: the patient changes its policy (directly or signed) and
///         rotates its key, the operator records break-glass uses of random scopes, outsiders and wrong keys try
///         the same. Ghost state: the policy the patient set, and whether anything succeeded that must not.
contract EmergencyHandler {
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    Emergency public immutable emergency;
    EthereumDIDRegistry public immutable didRegistry;
    address public immutable patient;
    address public immutable clinician;
    address public immutable operator;
    uint256 public patientKey;
    uint256 public immutable clinicianKey;

    uint8 public ghostPolicy;
    uint256 public ghostUses;
    /// @notice Set if a break-glass succeeded beyond the policy, or an outsider changed anything.
    bool public violation;
    uint256 private _counter;

    constructor(
        Emergency emergency_,
        EthereumDIDRegistry didRegistry_,
        uint256 patientKey_,
        uint256 clinicianKey_,
        address operator_
    ) {
        emergency = emergency_;
        didRegistry = didRegistry_;
        patientKey = patientKey_;
        clinicianKey = clinicianKey_;
        patient = vm.addr(patientKey_);
        clinician = vm.addr(clinicianKey_);
        operator = operator_;
    }

    function _sign(uint256 key, bytes32 structHash) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", emergency.DOMAIN_SEPARATOR(), structHash)));
        return abi.encodePacked(r, s, v);
    }

    function setPolicy(uint8 policy, bool signed) external {
        policy = policy % 4; // 3 is invalid and must revert
        if (signed) {
            uint256 nonce = emergency.nonces(patient);
            uint256 deadline = block.timestamp + 600;
            bytes memory sig =
                _sign(patientKey, keccak256(abi.encode(emergency.POLICY_TYPEHASH(), patient, policy, nonce, deadline)));
            try emergency.setPolicySigned(patient, policy, nonce, deadline, sig) {
                if (policy > 2) violation = true;
                ghostPolicy = policy;
            } catch {}
        } else {
            vm.prank(vm.addr(patientKey));
            try emergency.setPolicy(patient, policy) {
                if (policy > 2) violation = true;
                ghostPolicy = policy;
            } catch {}
        }
    }

    function rotate(uint256 newKey) external {
        newKey = 1 + (newKey % 1_000_000);
        vm.prank(vm.addr(patientKey));
        didRegistry.changeOwner(patient, vm.addr(newKey));
        patientKey = newKey;
    }

    function breakGlass(uint8 scope, uint64 duration) external {
        scope = scope % 3;
        uint64 expiresAt = uint64(block.timestamp) + 1 + (duration % (24 hours));
        bytes32 accessId = keccak256(abi.encode("access", _counter++));
        uint256 deadline = block.timestamp + 600;
        bytes memory sig = _sign(
            clinicianKey,
            keccak256(
                abi.encode(emergency.BREAK_GLASS_TYPEHASH(), clinician, patient, scope, accessId, expiresAt, deadline)
            )
        );
        vm.prank(operator);
        try emergency.recordBreakGlass(clinician, patient, scope, accessId, expiresAt, deadline, sig) {
            if (scope == 0 || scope > ghostPolicy) violation = true;
            ghostUses++;
        } catch {}
    }

    function outsiderActs(uint256 key, uint8 policy, uint8 scope) external {
        key = 1 + (key % 1_000_000);
        address outsider = vm.addr(key);
        if (outsider == vm.addr(patientKey) || outsider == clinician || outsider == operator) return;
        policy = policy % 3;
        scope = 1 + (scope % 2);
        vm.prank(outsider);
        try emergency.setPolicy(patient, policy) {
            violation = true;
        } catch {}
        uint256 nonce = emergency.nonces(patient);
        uint256 deadline = block.timestamp + 600;
        bytes memory sig = _sign(key, keccak256(abi.encode(emergency.POLICY_TYPEHASH(), patient, policy, nonce, deadline)));
        try emergency.setPolicySigned(patient, policy, nonce, deadline, sig) {
            violation = true;
        } catch {}
        bytes32 accessId = keccak256(abi.encode("outsider", _counter++));
        uint64 expiresAt = uint64(block.timestamp + 1 hours);
        // The outsider signs as the clinician, relayed by the operator: a forged clinician signature.
        bytes memory glass = _sign(
            key,
            keccak256(
                abi.encode(emergency.BREAK_GLASS_TYPEHASH(), clinician, patient, scope, accessId, expiresAt, deadline)
            )
        );
        vm.prank(operator);
        try emergency.recordBreakGlass(clinician, patient, scope, accessId, expiresAt, deadline, glass) {
            violation = true;
        } catch {}
        // The outsider relays a genuine clinician signature itself: only the operator records.
        bytes memory genuine = _sign(
            clinicianKey,
            keccak256(
                abi.encode(emergency.BREAK_GLASS_TYPEHASH(), clinician, patient, scope, accessId, expiresAt, deadline)
            )
        );
        vm.prank(outsider);
        try emergency.recordBreakGlass(clinician, patient, scope, accessId, expiresAt, deadline, genuine) {
            violation = true;
        } catch {}
    }
}
