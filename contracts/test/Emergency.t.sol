// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Emergency} from "../src/Emergency.sol";
import {Fixture} from "./utils/Fixture.sol";

/// @notice Emergency: the patient's break-glass policy, set through the current ERC-1056 owner, and one
///         `BreakGlass` event per use, recorded only by the operator with the clinician's signature (R-3, T-16).
contract EmergencyTest is Fixture {
    uint256 internal constant OPERATOR_KEY = 0x0FE7;
    uint8 internal constant OFF = 0;
    uint8 internal constant SUMMARY = 1;
    uint8 internal constant ALL = 2;

    address internal operator;
    Emergency internal emergency;
    // Read once: a view call between `expectRevert` and the call under test would take the expectation.
    bytes32 internal policyTypehash;
    bytes32 internal glassTypehash;

    event PolicyChanged(address indexed patient, Emergency.Policy policy);
    event BreakGlass(
        address indexed patient,
        address indexed clinician,
        bytes32 indexed accessId,
        Emergency.Policy scope,
        uint64 expiresAt
    );

    function setUp() public override {
        super.setUp();
        operator = vm.addr(OPERATOR_KEY);
        emergency = new Emergency(didRegistryAsIdentity(), operator);
        policyTypehash = emergency.POLICY_TYPEHASH();
        glassTypehash = emergency.BREAK_GLASS_TYPEHASH();
    }

    function _domainSep() internal view returns (bytes32) {
        return _domain("Carekey Emergency", block.chainid, address(emergency));
    }

    function _policySig(uint256 key, address who, uint8 policy, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _sign(
            key, _domainSep(), keccak256(abi.encode(policyTypehash, who, policy, nonce, deadline))
        );
    }

    function _glassSig(
        uint256 key,
        address clinician,
        address who,
        uint8 scope,
        bytes32 accessId,
        uint64 expiresAt,
        uint256 deadline
    ) internal view returns (bytes memory) {
        return _sign(
            key,
            _domainSep(),
            keccak256(
                abi.encode(glassTypehash, clinician, who, scope, accessId, expiresAt, deadline)
            )
        );
    }

    function _setPolicy(uint8 policy) internal {
        vm.prank(patient);
        emergency.setPolicy(patient, policy);
    }

    function _breakGlass(uint8 scope, bytes32 accessId, uint64 expiresAt) internal {
        uint256 deadline = block.timestamp + 600;
        bytes memory sig = _glassSig(PROVIDER_KEY, provider, patient, scope, accessId, expiresAt, deadline);
        vm.prank(operator);
        emergency.recordBreakGlass(provider, patient, scope, accessId, expiresAt, deadline, sig);
    }

    function test_DomainSeparatorMatchesEip712() public view {
        assertEq(emergency.DOMAIN_SEPARATOR(), _domainSep(), "domain separator");
        assertEq(emergency.operator(), operator, "operator");
    }

    function test_ZeroOperatorRefused() public {
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyZeroOperator.selector));
        new Emergency(didRegistryAsIdentity(), address(0));
    }

    function test_PolicyDefaultsToOff() public view {
        assertEq(uint256(emergency.policyOf(patient)), uint256(OFF), "off by default");
    }

    function test_OwnerSetsPolicy() public {
        vm.expectEmit(true, false, false, true, address(emergency));
        emit PolicyChanged(patient, Emergency.Policy.Summary);
        _setPolicy(SUMMARY);
        assertEq(uint256(emergency.policyOf(patient)), uint256(SUMMARY), "summary");
        _setPolicy(ALL);
        assertEq(uint256(emergency.policyOf(patient)), uint256(ALL), "all");
        _setPolicy(OFF);
        assertEq(uint256(emergency.policyOf(patient)), uint256(OFF), "off again");
    }

    function test_NonOwnerCannotSetPolicy() public {
        vm.expectRevert(
            abi.encodeWithSelector(Emergency.EmergencyNotIdentityOwner.selector, patient, mallory, patient)
        );
        vm.prank(mallory);
        emergency.setPolicy(patient, ALL);
    }

    function test_InvalidPolicyRefused() public {
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyInvalidPolicy.selector, uint8(3)));
        vm.prank(patient);
        emergency.setPolicy(patient, 3);
    }

    function test_SignedPolicyRelayedAndReplayRefused() public {
        uint256 deadline = block.timestamp + 600;
        bytes memory sig = _policySig(PATIENT_KEY, patient, SUMMARY, 0, deadline);
        vm.prank(mallory); // anyone relays
        emergency.setPolicySigned(patient, SUMMARY, 0, deadline, sig);
        assertEq(uint256(emergency.policyOf(patient)), uint256(SUMMARY), "relayed policy applied");
        assertEq(emergency.nonces(patient), 1, "nonce moved");
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyInvalidNonce.selector, patient, 1, 0));
        emergency.setPolicySigned(patient, SUMMARY, 0, deadline, sig);
    }

    function test_SignedPolicyExpiredRefused() public {
        uint256 deadline = block.timestamp - 1;
        bytes memory sig = _policySig(PATIENT_KEY, patient, ALL, 0, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(Emergency.EmergencySignatureExpired.selector, deadline, block.timestamp)
        );
        emergency.setPolicySigned(patient, ALL, 0, deadline, sig);
    }

    function test_T6_RotatedKeyTakesEffect() public {
        _rotate(patient, PATIENT_KEY, newOwner);
        uint256 deadline = block.timestamp + 600;
        bytes memory old = _policySig(PATIENT_KEY, patient, ALL, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyInvalidSignature.selector, patient, newOwner));
        emergency.setPolicySigned(patient, ALL, 0, deadline, old);
        emergency.setPolicySigned(patient, ALL, 0, deadline, _policySig(NEW_OWNER_KEY, patient, ALL, 0, deadline));
        assertEq(uint256(emergency.policyOf(patient)), uint256(ALL), "new owner's policy applied");
    }

    function test_R3_BreakGlassWithSummaryPolicy() public {
        _setPolicy(SUMMARY);
        bytes32 accessId = keccak256("access-1");
        uint64 expiresAt = uint64(block.timestamp + 24 hours);
        vm.expectEmit(true, true, true, true, address(emergency));
        emit BreakGlass(patient, provider, accessId, Emergency.Policy.Summary, expiresAt);
        _breakGlass(SUMMARY, accessId, expiresAt);
        assertTrue(emergency.isAccessIdUsed(accessId), "access id used");
    }

    function test_T16_PolicyOffRefused() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                Emergency.EmergencyNotAllowed.selector, patient, Emergency.Policy.Off, Emergency.Policy.Summary
            )
        );
        _breakGlass(SUMMARY, keccak256("a"), uint64(block.timestamp + 1 hours));
    }

    function test_T16_SummaryPolicyRefusesAll() public {
        _setPolicy(SUMMARY);
        vm.expectRevert(
            abi.encodeWithSelector(
                Emergency.EmergencyNotAllowed.selector, patient, Emergency.Policy.Summary, Emergency.Policy.All
            )
        );
        _breakGlass(ALL, keccak256("a"), uint64(block.timestamp + 1 hours));
    }

    function test_T16_ScopeOffOrInvalidRefused() public {
        _setPolicy(ALL);
        vm.expectRevert(
            abi.encodeWithSelector(
                Emergency.EmergencyNotAllowed.selector, patient, Emergency.Policy.All, Emergency.Policy.Off
            )
        );
        _breakGlass(OFF, keccak256("a"), uint64(block.timestamp + 1 hours));
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyInvalidPolicy.selector, uint8(7)));
        _breakGlass(7, keccak256("a"), uint64(block.timestamp + 1 hours));
    }

    function test_T16_ReplayedAccessIdRefused() public {
        _setPolicy(ALL);
        bytes32 accessId = keccak256("once");
        _breakGlass(ALL, accessId, uint64(block.timestamp + 1 hours));
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyAccessIdUsed.selector, accessId));
        _breakGlass(ALL, accessId, uint64(block.timestamp + 1 hours));
    }

    function test_T16_OnlyOperatorRecords() public {
        _setPolicy(SUMMARY);
        uint64 expiresAt = uint64(block.timestamp + 1 hours);
        uint256 deadline = block.timestamp + 600;
        bytes memory sig = _glassSig(PROVIDER_KEY, provider, patient, SUMMARY, keccak256("a"), expiresAt, deadline);
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyNotOperator.selector, provider));
        vm.prank(provider);
        emergency.recordBreakGlass(provider, patient, SUMMARY, keccak256("a"), expiresAt, deadline, sig);
    }

    function test_T16_OperatorCannotForgeClinician() public {
        _setPolicy(SUMMARY);
        uint64 expiresAt = uint64(block.timestamp + 1 hours);
        uint256 deadline = block.timestamp + 600;
        bytes memory sig = _glassSig(OPERATOR_KEY, provider, patient, SUMMARY, keccak256("a"), expiresAt, deadline);
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyInvalidSignature.selector, provider, provider));
        vm.prank(operator);
        emergency.recordBreakGlass(provider, patient, SUMMARY, keccak256("a"), expiresAt, deadline, sig);
    }

    function test_R3_ExpiryBoundedTo24Hours() public {
        _setPolicy(SUMMARY);
        uint64 tooLong = uint64(block.timestamp + 24 hours + 1);
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyInvalidExpiry.selector, tooLong, block.timestamp));
        _breakGlass(SUMMARY, keccak256("a"), tooLong);
        uint64 past = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyInvalidExpiry.selector, past, block.timestamp));
        _breakGlass(SUMMARY, keccak256("a"), past);
    }

    function test_ZeroAccessIdAndSelfAccessRefused() public {
        _setPolicy(SUMMARY);
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyZeroAccessId.selector));
        _breakGlass(SUMMARY, bytes32(0), uint64(block.timestamp + 1 hours));
        uint256 deadline = block.timestamp + 600;
        uint64 expiresAt = uint64(block.timestamp + 1 hours);
        bytes memory sig = _glassSig(PATIENT_KEY, patient, patient, SUMMARY, keccak256("s"), expiresAt, deadline);
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencySelfAccess.selector, patient));
        vm.prank(operator);
        emergency.recordBreakGlass(patient, patient, SUMMARY, keccak256("s"), expiresAt, deadline, sig);
    }

    function test_BreakGlassSignatureExpiredRefused() public {
        _setPolicy(SUMMARY);
        uint256 deadline = block.timestamp - 1;
        uint64 expiresAt = uint64(block.timestamp + 1 hours);
        bytes memory sig = _glassSig(PROVIDER_KEY, provider, patient, SUMMARY, keccak256("a"), expiresAt, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(Emergency.EmergencySignatureExpired.selector, deadline, block.timestamp)
        );
        vm.prank(operator);
        emergency.recordBreakGlass(provider, patient, SUMMARY, keccak256("a"), expiresAt, deadline, sig);
    }

    /// @notice Fuzz: no random key but the clinician owner's records a break-glass.
    function testFuzz_T16_RandomSignerRefused(uint256 key, bytes32 accessId) public {
        key = boundKey(key);
        vm.assume(key != PROVIDER_KEY && accessId != bytes32(0));
        _setPolicy(ALL);
        uint64 expiresAt = uint64(block.timestamp + 1 hours);
        uint256 deadline = block.timestamp + 600;
        bytes memory sig = _glassSig(key, provider, patient, ALL, accessId, expiresAt, deadline);
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyInvalidSignature.selector, provider, provider));
        vm.prank(operator);
        emergency.recordBreakGlass(provider, patient, ALL, accessId, expiresAt, deadline, sig);
        assertFalse(emergency.isAccessIdUsed(accessId), "nothing recorded");
    }

    /// @notice Fuzz: any caller but the operator is refused, whatever it sends.
    function testFuzz_T16_AnyNonOperatorRefused(address caller, bytes32 accessId) public {
        vm.assume(caller != operator);
        _setPolicy(ALL);
        uint64 expiresAt = uint64(block.timestamp + 1 hours);
        uint256 deadline = block.timestamp + 600;
        bytes memory sig = _glassSig(PROVIDER_KEY, provider, patient, ALL, accessId, expiresAt, deadline);
        vm.expectRevert(abi.encodeWithSelector(Emergency.EmergencyNotOperator.selector, caller));
        vm.prank(caller);
        emergency.recordBreakGlass(provider, patient, ALL, accessId, expiresAt, deadline, sig);
    }

    /// @notice Fuzz: the expiry is accepted exactly in (now, now + 24 h].
    function testFuzz_R3_ExpiryWindow(uint64 offset) public {
        _setPolicy(SUMMARY);
        uint64 expiresAt = uint64(block.timestamp) + (offset % (48 hours));
        bool ok = expiresAt > block.timestamp && expiresAt <= block.timestamp + 24 hours;
        if (!ok) {
            vm.expectRevert(
                abi.encodeWithSelector(Emergency.EmergencyInvalidExpiry.selector, expiresAt, block.timestamp)
            );
        }
        _breakGlass(SUMMARY, keccak256(abi.encode(offset)), expiresAt);
        assertEq(emergency.isAccessIdUsed(keccak256(abi.encode(offset))), ok, "recorded only inside the window");
    }

    /// @notice Fuzz: a scope is allowed exactly when the policy is at least it (and it is not Off).
    function testFuzz_T16_ScopeWithinPolicy(uint8 policy, uint8 scope) public {
        policy = uint8(bound(policy, 0, 2));
        scope = uint8(bound(scope, 0, 2));
        _setPolicy(policy);
        bool ok = scope != OFF && scope <= policy;
        if (!ok) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    Emergency.EmergencyNotAllowed.selector, patient, Emergency.Policy(policy), Emergency.Policy(scope)
                )
            );
        }
        _breakGlass(scope, keccak256("fuzz"), uint64(block.timestamp + 1 hours));
    }
}
