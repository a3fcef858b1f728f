// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {IDIDOwnerRegistry, Recovery} from "../../src/recovery/Recovery.sol";
import {RecoveryAccount} from "../../src/recovery/RecoveryAccount.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice T-17 social recovery on chain: k guardian approvals, a delay the owner can cancel in, then
///         the patient's key is replaced in every contract at once (ERC-1271 through the account).
contract RecoveryTest is Fixture {
    bytes32 internal constant TREAT = bytes32("TREAT");
    uint256 internal constant G1_KEY = 0x6001;
    uint256 internal constant G2_KEY = 0x6002;
    uint256 internal constant G3_KEY = 0x6003;
    uint64 internal constant DELAY = 2 days;
    bytes32 internal constant SET_ROOT = keccak256("share set");

    Recovery internal recovery;
    address internal g1;
    address internal g2;
    address internal g3;
    uint256 internal deadline;

    function setUp() public override {
        super.setUp();
        recovery = new Recovery(IDIDOwnerRegistry(address(didRegistry)));
        g1 = vm.addr(G1_KEY);
        g2 = vm.addr(G2_KEY);
        g3 = vm.addr(G3_KEY);
        deadline = block.timestamp + 1 hours;
    }

    // ---------------------------------------------------------------- helpers

    function _guardians() internal view returns (address[] memory gs) {
        gs = new address[](3);
        gs[0] = g1;
        gs[1] = g2;
        gs[2] = g3;
    }

    function _recoveryDomain() internal view returns (bytes32) {
        return _domain("Carekey Recovery", block.chainid, address(recovery));
    }

    function _enableSig(uint256 key, address[] memory gs, uint8 k, uint64 delay, uint256 nonce)
        internal
        view
        returns (bytes memory)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                recovery.ENABLE_TYPEHASH(),
                patient,
                patient,
                keccak256(abi.encodePacked(gs)),
                k,
                delay,
                SET_ROOT,
                uint32(1),
                nonce,
                deadline
            )
        );
        return _sign(key, _recoveryDomain(), structHash);
    }

    /// @dev ERC-1056 `changeOwnerSigned` signature of the identity's owner (r ‖ s ‖ v).
    function _didSig(uint256 key, address identity, address to) internal view returns (bytes memory) {
        address owner = didRegistry.identityOwner(identity);
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19), bytes1(0), address(didRegistry), didRegistry.nonce(owner), identity, "changeOwner", to
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, hash);
        return abi.encodePacked(r, s, v);
    }

    function _settings(address[] memory gs, uint8 k, uint64 delay) internal pure returns (Recovery.Settings memory) {
        return Recovery.Settings({guardians: gs, threshold: k, delay: delay, shareSetRoot: SET_ROOT, shareEpoch: 1});
    }

    function _enable(uint8 k) internal returns (RecoveryAccount account) {
        address[] memory gs = _guardians();
        account = recovery.enableSigned(
            patient,
            patient,
            _settings(gs, k, DELAY),
            deadline,
            _enableSig(PATIENT_KEY, gs, k, DELAY, 0),
            _didSig(PATIENT_KEY, patient, recovery.accountAddress(patient))
        );
    }

    function _approveSig(uint256 guardianKey, address guardian, address to, uint64 round)
        internal
        view
        returns (bytes memory)
    {
        bytes32 structHash =
            keccak256(abi.encode(recovery.APPROVE_TYPEHASH(), patient, guardian, to, round, deadline));
        return _sign(guardianKey, _recoveryDomain(), structHash);
    }

    function _cancelSig(uint256 key, uint64 round) internal view returns (bytes memory) {
        return _sign(key, _recoveryDomain(), keccak256(abi.encode(recovery.CANCEL_TYPEHASH(), patient, round, deadline)));
    }

    function _grantSig(uint256 key, uint256 nonce) internal view returns (bytes memory) {
        bytes32[] memory tags = new bytes32[](1);
        tags[0] = keccak256("lab");
        bytes32 structHash = keccak256(
            abi.encode(
                consent.GRANT_TYPEHASH(),
                patient,
                provider,
                uint8(1),
                keccak256(abi.encodePacked(tags)),
                TREAT,
                uint64(block.timestamp + 30 days),
                bytes32(0),
                nonce,
                deadline
            )
        );
        return _sign(key, _consentDomain(), structHash);
    }

    function _grant(bytes memory signature, uint256 nonce) internal returns (bytes32) {
        bytes32[] memory tags = new bytes32[](1);
        tags[0] = keccak256("lab");
        return consent.createGrantSigned(
            patient, provider, 1, tags, TREAT, uint64(block.timestamp + 30 days), 0, nonce, deadline, signature
        );
    }

    function _round() internal view returns (uint64 round) {
        (,,,, round,,) = recovery.recoveryOf(patient);
    }

    // ---------------------------------------------------------------- enable

    function test_EnableMakesTheAccountOwnerAndKeepsThePatientInControl() public {
        RecoveryAccount account = _enable(2);
        assertEq(didRegistry.identityOwner(patient), address(account), "account owns the identity");
        assertEq(account.controller(), patient, "patient key controls");
        (address a, address[] memory gs, uint8 k, uint64 delay, uint64 round, bytes32 root, uint32 epoch) =
            recovery.recoveryOf(patient);
        assertEq(a, address(account), "account");
        assertEq(gs.length, 3, "guardians");
        assertEq(uint256(k), 2, "threshold");
        assertEq(uint256(delay), uint256(DELAY), "delay");
        assertEq(uint256(round), 0, "round");
        assertEq(root, SET_ROOT, "share set");
        assertEq(uint256(epoch), 1, "epoch");
        // The patient's signatures still work in every contract, through ERC-1271.
        bytes32 grantId = _grant(_grantSig(PATIENT_KEY, 0), 0);
        assertTrue(consent.isActive(grantId), "patient still grants");
    }

    function test_EnableRefusesAForeignSignatureAReplayAndBadConfigs() public {
        address[] memory gs = _guardians();
        address predicted = recovery.accountAddress(patient);
        bytes memory didSig = _didSig(PATIENT_KEY, patient, predicted);
        bytes memory sig = _enableSig(MALLORY_KEY, gs, 2, DELAY, 0);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryInvalidSignature.selector, patient));
        recovery.enableSigned(patient, mallory, _settings(gs, 2, DELAY), deadline, sig, didSig);

        gs[2] = g1;
        sig = _enableSig(PATIENT_KEY, gs, 2, DELAY, 0);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryInvalidConfig.selector, "a guardian is listed twice"));
        recovery.enableSigned(patient, patient, _settings(gs, 2, DELAY), deadline, sig, didSig);

        gs = _guardians();
        sig = _enableSig(PATIENT_KEY, gs, 4, DELAY, 0);
        vm.expectRevert(
            abi.encodeWithSelector(Recovery.RecoveryInvalidConfig.selector, "threshold must be 1 to the number of guardians")
        );
        recovery.enableSigned(patient, patient, _settings(gs, 4, DELAY), deadline, sig, didSig);

        sig = _enableSig(PATIENT_KEY, gs, 2, DELAY, 0);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoverySignatureExpired.selector, deadline, deadline + 1));
        recovery.enableSigned(patient, patient, _settings(gs, 2, DELAY), deadline, sig, didSig);
        vm.warp(deadline - 1 hours);

        _enable(2);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryAlreadyEnabled.selector, patient));
        recovery.enableSigned(patient, patient, _settings(gs, 2, DELAY), deadline, sig, didSig);
    }

    // ---------------------------------------------------------------- the stories

    function test_T17_LostPhoneTwoOfThreeGuardiansThenTheNewKeyWorksEverywhere() public {
        RecoveryAccount account = _enable(2);
        recovery.approveSigned(patient, g1, newOwner, 0, deadline, _approveSig(G1_KEY, g1, newOwner, 0));
        (, uint8 approvals, uint64 readyAt) = recovery.pendingRecovery(patient);
        assertEq(uint256(approvals), 1, "one approval");
        assertEq(uint256(readyAt), 0, "one guardian alone is not enough");
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotReady.selector, uint64(0)));
        recovery.execute(patient);

        vm.prank(g3);
        recovery.approve(patient, g3, newOwner);
        (,, readyAt) = recovery.pendingRecovery(patient);
        assertEq(uint256(readyAt), block.timestamp + DELAY, "delay starts at the threshold");
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotReady.selector, readyAt));
        recovery.execute(patient);

        vm.warp(readyAt);
        deadline = block.timestamp + 1 hours;
        recovery.execute(patient);
        assertEq(account.controller(), newOwner, "new key controls");
        assertEq(didRegistry.identityOwner(patient), address(account), "identity unchanged, nothing migrates");

        // The stolen/lost key is powerless; the new key grants.
        bytes memory oldKeySig = _grantSig(PATIENT_KEY, 0);
        bytes32[] memory tags = new bytes32[](1);
        tags[0] = keccak256("lab");
        uint64 expiry = uint64(block.timestamp + 30 days);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, address(account)));
        consent.createGrantSigned(patient, provider, 1, tags, TREAT, expiry, 0, 0, deadline, oldKeySig);
        bytes32 grantId = _grant(_grantSig(NEW_OWNER_KEY, 0), 0);
        assertTrue(consent.isActive(grantId), "new key grants");
        // And it drives the DID registry (e.g. publishing a new X25519 key) through the account.
        vm.prank(newOwner);
        account.execute(
            address(didRegistry),
            abi.encodeWithSignature("setAttribute(address,bytes32,bytes,uint256)", patient, bytes32("did/pub/X25519/enc/base64"), bytes("k"), uint256(365 days))
        );
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(RecoveryAccount.RecoveryAccountUnauthorized.selector, patient));
        account.execute(address(didRegistry), "");
    }

    function test_T17_OwnerCancelsDuringTheDelayAndApprovalsCannotBeReplayed() public {
        _enable(2);
        bytes memory a1 = _approveSig(G1_KEY, g1, mallory, 0);
        recovery.approveSigned(patient, g1, mallory, 0, deadline, a1);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryAlreadyApproved.selector, patient, g1, uint64(0)));
        recovery.approveSigned(patient, g1, mallory, 0, deadline, a1);
        recovery.approveSigned(patient, g2, mallory, 0, deadline, _approveSig(G2_KEY, g2, mallory, 0));

        // Someone other than the patient cannot cancel; the patient can, within the delay.
        bytes memory foreignCancel = _cancelSig(MALLORY_KEY, 0);
        bytes memory ownCancel = _cancelSig(PATIENT_KEY, 0);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryInvalidSignature.selector, patient));
        recovery.cancelSigned(patient, 0, deadline, foreignCancel);
        recovery.cancelSigned(patient, 0, deadline, ownCancel);
        assertEq(uint256(_round()), 1, "new round");
        // The old approvals are void: replaying them names the old round.
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryWrongRound.selector, uint64(1), uint64(0)));
        recovery.approveSigned(patient, g1, mallory, 0, deadline, a1);
        assertFalse(recovery.hasApproved(patient, g1), "no approval carried over");
        vm.warp(block.timestamp + DELAY);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNothingPending.selector, patient));
        recovery.execute(patient);
    }

    function test_T17_NonGuardianAndWrongSignerAreRefused() public {
        _enable(2);
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotGuardian.selector, patient, mallory));
        recovery.approve(patient, mallory, mallory);
        // Mallory cannot approve as a guardian she does not own.
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotGuardianOwner.selector, g1, mallory));
        recovery.approve(patient, g1, mallory);
        bytes memory forged = _approveSig(MALLORY_KEY, g1, mallory, 0);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryInvalidSignature.selector, g1));
        recovery.approveSigned(patient, g1, mallory, 0, deadline, forged);
        // Guardians must agree on one key per round.
        vm.prank(g1);
        recovery.approve(patient, g1, newOwner);
        vm.prank(g2);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryProposalMismatch.selector, newOwner, mallory));
        recovery.approve(patient, g2, mallory);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotEnabled.selector, provider));
        recovery.execute(provider);
    }

    function test_T17_GuardiansAreIdentitiesTheirRotatedKeyApproves() public {
        _enable(2);
        _rotate(g1, G1_KEY, mallory); // guardian g1 rotated to a new key (here mallory's key)
        vm.prank(g1);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotGuardianOwner.selector, g1, g1));
        recovery.approve(patient, g1, newOwner);
        vm.prank(mallory);
        recovery.approve(patient, g1, newOwner);
        assertTrue(recovery.hasApproved(patient, g1), "approved by the guardian's current key");
    }

    function test_ReconfigureByThePatientCancelsAndReanchorsShares() public {
        _enable(2);
        vm.prank(g1);
        recovery.approve(patient, g1, mallory);
        address[] memory gs = new address[](2);
        gs[0] = g2;
        gs[1] = g3;
        bytes32 newRoot = keccak256("epoch 2");
        Recovery.Settings memory conf =
            Recovery.Settings({guardians: gs, threshold: 2, delay: DELAY, shareSetRoot: newRoot, shareEpoch: 2});
        bytes32 structHash = keccak256(
            abi.encode(recovery.CONFIGURE_TYPEHASH(), patient, keccak256(abi.encodePacked(gs)), uint8(2), DELAY, newRoot, uint32(2), uint256(1), deadline)
        );
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryInvalidSignature.selector, patient));
        recovery.configureSigned(patient, conf, 1, deadline, _sign(MALLORY_KEY, _recoveryDomain(), structHash));
        recovery.configureSigned(patient, conf, 1, deadline, _sign(PATIENT_KEY, _recoveryDomain(), structHash));
        (, address[] memory now_, uint8 k,,, bytes32 root, uint32 epoch) = recovery.recoveryOf(patient);
        assertEq(now_.length, 2, "two guardians");
        assertEq(uint256(k), 2, "threshold");
        assertEq(root, newRoot, "re-anchored");
        assertEq(uint256(epoch), 2, "epoch 2");
        (address pending,,) = recovery.pendingRecovery(patient);
        assertEq(pending, address(0), "recovery under way cancelled");
        vm.prank(g1);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotGuardian.selector, patient, g1));
        recovery.approve(patient, g1, mallory);
        // Replaying the configuration is refused.
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryInvalidNonce.selector, uint256(2), uint256(1)));
        recovery.configureSigned(patient, conf, 1, deadline, _sign(PATIENT_KEY, _recoveryDomain(), structHash));
    }

    function test_AccountCannotBeReinitialisedNorItsControllerSetByOthers() public {
        RecoveryAccount account = _enable(2);
        vm.expectRevert(RecoveryAccount.RecoveryAccountAlreadyInitialized.selector);
        account.initialize(patient, mallory);
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(RecoveryAccount.RecoveryAccountUnauthorized.selector, mallory));
        account.setController(mallory);
    }

    function test_RelayedExecuteBySignatureOfTheControllerOnly() public {
        RecoveryAccount account = _enable(2);
        bytes memory data = abi.encodeWithSignature(
            "setAttribute(address,bytes32,bytes,uint256)", patient, bytes32("did/pub/X25519/enc/base64"), bytes("k"), uint256(365 days)
        );
        bytes32 domain = _domain("Carekey RecoveryAccount", block.chainid, address(account));
        bytes32 structHash = keccak256(abi.encode(account.EXECUTE_TYPEHASH(), address(didRegistry), keccak256(data), uint256(0), deadline));
        bytes memory good = _sign(PATIENT_KEY, domain, structHash);
        bytes memory bad = _sign(MALLORY_KEY, domain, structHash);
        vm.expectRevert(abi.encodeWithSelector(RecoveryAccount.RecoveryAccountInvalidSignature.selector, patient));
        account.executeSigned(address(didRegistry), data, 0, deadline, bad);
        vm.prank(mallory); // anyone relays
        account.executeSigned(address(didRegistry), data, 0, deadline, good);
        assertEq(account.nonce(), 1, "nonce used");
        vm.expectRevert(abi.encodeWithSelector(RecoveryAccount.RecoveryAccountInvalidNonce.selector, uint256(1), uint256(0)));
        account.executeSigned(address(didRegistry), data, 0, deadline, good);
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev Any number of approvals below the threshold never makes the change executable, whatever the time.
    function testFuzz_T17_BelowThresholdNeverExecutes(uint8 k, uint8 given, uint64 wait) public {
        k = uint8(bound(k, 2, 3));
        given = uint8(bound(given, 0, k - 1));
        _enable(k);
        uint256[3] memory keys = [G1_KEY, G2_KEY, G3_KEY];
        for (uint256 i = 0; i < given; i++) {
            vm.prank(vm.addr(keys[i]));
            recovery.approve(patient, vm.addr(keys[i]), newOwner);
        }
        vm.warp(block.timestamp + bound(wait, 0, 10 * 365 days));
        if (given == 0) {
            vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNothingPending.selector, patient));
        } else {
            vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotReady.selector, uint64(0)));
        }
        recovery.execute(patient);
    }

    /// @dev No address outside the guardian set can add an approval.
    function testFuzz_T17_OutsidersNeverApprove(address outsider, address to) public {
        vm.assume(outsider != g1 && outsider != g2 && outsider != g3 && outsider != address(0) && outsider != patient);
        vm.assume(to != address(0) && to != patient);
        _enable(2);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotGuardian.selector, patient, outsider));
        recovery.approve(patient, outsider, to);
    }

    /// @dev The delay always holds: one second before `readyAt` fails, at `readyAt` succeeds.
    function testFuzz_T17_DelayHolds(uint64 delay) public {
        delay = uint64(bound(delay, 0, 365 days));
        address[] memory gs = _guardians();
        recovery.enableSigned(
            patient, patient, _settings(gs, 2, delay), deadline, _enableSig(PATIENT_KEY, gs, 2, delay, 0),
            _didSig(PATIENT_KEY, patient, recovery.accountAddress(patient))
        );
        vm.prank(g1);
        recovery.approve(patient, g1, newOwner);
        vm.prank(g2);
        recovery.approve(patient, g2, newOwner);
        (,, uint64 readyAt) = recovery.pendingRecovery(patient);
        if (delay > 0) {
            vm.warp(readyAt - 1);
            vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryNotReady.selector, readyAt));
            recovery.execute(patient);
        }
        vm.warp(readyAt);
        recovery.execute(patient);
        assertEq(RecoveryAccount(recovery.accountAddress(patient)).controller(), newOwner, "executed");
    }
}
