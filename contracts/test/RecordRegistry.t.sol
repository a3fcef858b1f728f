// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RecordRegistry} from "../src/RecordRegistry.sol";
import {Fixture} from "./utils/Fixture.sol";

contract RecordRegistryTest is Fixture {
    bytes32 internal constant ROOT = keccak256("root");
    bytes32 internal constant RECORD = keccak256("record");

    function _publishSig(uint256 key, address publisher, bytes32 root, uint32 count, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        bytes32 structHash =
            keccak256(abi.encode(records.PUBLISH_TYPEHASH(), publisher, root, count, nonce, deadline));
        return _sign(key, _recordsDomain(), structHash);
    }

    function _shredSig(uint256 key, address who, bytes32 recordId, uint8 action, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        bytes32 structHash =
            keccak256(abi.encode(records.SHRED_TYPEHASH(), who, recordId, action, nonce, deadline));
        return _sign(key, _recordsDomain(), structHash);
    }

    function _state(address who, bytes32 recordId) internal view returns (RecordRegistry.ShredState state) {
        (state,) = records.shredState(who, recordId);
    }

    // ------------------------------------------------------------------ publishing

    function test_PublishBatchAssignsSequentialIdsAndEmits() public {
        vm.expectEmit(true, true, false, true, address(records));
        emit RecordRegistry.BatchPublished(1, provider, ROOT, 1000);
        vm.prank(provider);
        assertEq(records.publishBatch(provider, ROOT, 1000), 1, "first id");
        vm.prank(provider);
        assertEq(records.publishBatch(provider, keccak256("root2"), 1), 2, "second id");
        assertEq(records.batchCount(), 2, "count");
        assertEq(records.batchRoot(1), ROOT, "root 1");
    }

    function test_T6_PublishByNonOwnerReverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistryNotIdentityOwner.selector, provider, mallory, provider)
        );
        vm.prank(mallory);
        records.publishBatch(provider, ROOT, 10);
        assertEq(records.batchCount(), 0, "nothing published");
    }

    function testFuzz_T6_RandomCallerCannotPublish(address caller, bytes32 root, uint32 count) public {
        vm.assume(caller != provider);
        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistryNotIdentityOwner.selector, provider, caller, provider)
        );
        vm.prank(caller);
        records.publishBatch(provider, root, count);
    }

    function testFuzz_PublishStoresRoot(bytes32 root, uint32 count) public {
        vm.assume(root != bytes32(0) && count != 0);
        vm.prank(provider);
        uint256 id = records.publishBatch(provider, root, count);
        assertEq(records.batchRoot(id), root, "root");
    }

    function test_PublishRejectsEmptyBatchAndZeroRoot() public {
        vm.startPrank(provider);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryEmptyBatch.selector));
        records.publishBatch(provider, ROOT, 0);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryZeroRoot.selector));
        records.publishBatch(provider, bytes32(0), 1);
        vm.stopPrank();
    }

    function test_UnknownBatchReverts() public {
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryUnknownBatch.selector, 0));
        records.batchRoot(0);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryUnknownBatch.selector, 1));
        records.batchRoot(1);
    }

    function test_PublishSignedRelayed() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _publishSig(PROVIDER_KEY, provider, ROOT, 5, 0, deadline);
        vm.prank(mallory); // any relayer
        assertEq(records.publishBatchSigned(provider, ROOT, 5, 0, deadline, sig), 1, "id");
        assertEq(records.nonces(provider), 1, "nonce used");
    }

    function test_T6_PublishSignedBySomeoneElseReverts() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _publishSig(MALLORY_KEY, provider, ROOT, 5, 0, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistryInvalidSignature.selector, provider, provider)
        );
        records.publishBatchSigned(provider, ROOT, 5, 0, deadline, sig);
    }

    function test_T6_PublishSignedReplayAndDeadline() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _publishSig(PROVIDER_KEY, provider, ROOT, 5, 0, deadline);
        records.publishBatchSigned(provider, ROOT, 5, 0, deadline, sig);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryInvalidNonce.selector, provider, 1, 0));
        records.publishBatchSigned(provider, ROOT, 5, 0, deadline, sig);

        bytes memory late = _publishSig(PROVIDER_KEY, provider, ROOT, 5, 1, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistrySignatureExpired.selector, deadline, deadline + 1)
        );
        records.publishBatchSigned(provider, ROOT, 5, 1, deadline, late);
    }

    function test_T6_PublishSignedForOtherChainReverts() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(abi.encode(records.PUBLISH_TYPEHASH(), provider, ROOT, uint32(5), 0, deadline));
        bytes memory sig =
            _sign(PROVIDER_KEY, _domain("Carekey RecordRegistry", block.chainid + 1, address(records)), structHash);
        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistryInvalidSignature.selector, provider, provider)
        );
        records.publishBatchSigned(provider, ROOT, 5, 0, deadline, sig);
    }

    function testFuzz_T6_PublishSignedByRandomKeyReverts(uint256 key, bytes32 root, uint32 count) public {
        key = boundKey(key);
        vm.assume(vm.addr(key) != provider);
        vm.assume(root != bytes32(0) && count != 0);
        uint256 deadline = block.timestamp + 1;
        bytes memory sig = _publishSig(key, provider, root, count, 0, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistryInvalidSignature.selector, provider, provider)
        );
        records.publishBatchSigned(provider, root, count, 0, deadline, sig);
    }

    // ------------------------------------------------------------------ inclusion proofs

    function test_VerifyRecordTwoLeafTree() public {
        bytes32 leafA = records.recordLeaf(RECORD, keccak256("blob"), keccak256("cat"), keccak256("commit"));
        bytes32 leafB = records.recordLeaf(keccak256("other"), keccak256("blob2"), keccak256("cat"), keccak256("commit"));
        bytes32 root = leafA < leafB ? keccak256(abi.encode(leafA, leafB)) : keccak256(abi.encode(leafB, leafA));
        vm.prank(provider);
        uint256 id = records.publishBatch(provider, root, 2);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = leafB;
        assertTrue(
            records.verifyRecord(id, RECORD, keccak256("blob"), keccak256("cat"), keccak256("commit"), proof), "included"
        );
        assertFalse(
            records.verifyRecord(id, RECORD, keccak256("blob"), keccak256("cat2"), keccak256("commit"), proof),
            "other category not included"
        );
    }

    // ------------------------------------------------------------------ shredding

    function test_ShredTwoPhase() public {
        vm.startPrank(patient);
        vm.expectEmit(true, true, false, true, address(records));
        emit RecordRegistry.ShredRequested(RECORD, patient, uint64(block.timestamp) + SHRED_DELAY);
        records.requestShred(patient, RECORD);
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.Pending), "pending");

        vm.expectRevert(
            abi.encodeWithSelector(
                RecordRegistry.RecordRegistryShredTooEarly.selector, RECORD, uint64(block.timestamp) + SHRED_DELAY
            )
        );
        records.finalizeShred(patient, RECORD);

        vm.warp(block.timestamp + SHRED_DELAY);
        vm.expectEmit(true, true, false, true, address(records));
        emit RecordRegistry.Shredded(RECORD, patient);
        records.finalizeShred(patient, RECORD);
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.Shredded), "shredded");

        vm.expectRevert(
            abi.encodeWithSelector(
                RecordRegistry.RecordRegistryShredAlreadyRequested.selector,
                patient,
                RECORD,
                RecordRegistry.ShredState.Shredded
            )
        );
        records.requestShred(patient, RECORD);
        vm.expectRevert(
            abi.encodeWithSelector(
                RecordRegistry.RecordRegistryShredNotPending.selector, patient, RECORD, RecordRegistry.ShredState.Shredded
            )
        );
        records.cancelShred(patient, RECORD);
        vm.stopPrank();
    }

    function test_CancelShredDuringPending() public {
        vm.startPrank(patient);
        records.requestShred(patient, RECORD);
        vm.expectEmit(true, true, false, true, address(records));
        emit RecordRegistry.ShredCancelled(RECORD, patient);
        records.cancelShred(patient, RECORD);
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.None), "back to none");
        vm.expectRevert(
            abi.encodeWithSelector(
                RecordRegistry.RecordRegistryShredNotPending.selector, patient, RECORD, RecordRegistry.ShredState.None
            )
        );
        records.finalizeShred(patient, RECORD);
        vm.stopPrank();
    }

    function test_ZeroShredDelayFinalizesAtOnce() public {
        RecordRegistry zero = new RecordRegistry(didRegistryAsIdentity(), 0);
        vm.startPrank(patient);
        zero.requestShred(patient, RECORD);
        zero.finalizeShred(patient, RECORD);
        vm.stopPrank();
        (RecordRegistry.ShredState state,) = zero.shredState(patient, RECORD);
        assertEq(uint256(state), uint256(RecordRegistry.ShredState.Shredded), "shredded");
    }

    function testFuzz_T6_RandomCallerCannotRequestOrCancelShred(address caller, bytes32 recordId) public {
        vm.assume(caller != patient);
        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistryNotIdentityOwner.selector, patient, caller, patient)
        );
        vm.prank(caller);
        records.requestShred(patient, recordId);

        vm.prank(patient);
        records.requestShred(patient, recordId);
        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistryNotIdentityOwner.selector, patient, caller, patient)
        );
        vm.prank(caller);
        records.cancelShred(patient, recordId);
        assertEq(uint256(_state(patient, recordId)), uint256(RecordRegistry.ShredState.Pending), "still pending");
    }

    // ------------------------------------------------------------------ permissionless finalisation (R-11)

    function test_R11_FinalizeBeforeDelayRevertsWithExecutableAt() public {
        vm.prank(patient);
        records.requestShred(patient, RECORD);
        uint64 executableAt = uint64(block.timestamp) + SHRED_DELAY;
        vm.warp(executableAt - 1);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryShredTooEarly.selector, RECORD, executableAt));
        vm.prank(mallory);
        records.finalizeShred(patient, RECORD);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryShredTooEarly.selector, RECORD, executableAt));
        vm.prank(patient);
        records.finalizeShred(patient, RECORD);
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.Pending), "still pending");
    }

    function test_R11_AnyoneFinalizesAfterDelayWithoutNonce() public {
        uint256 deadline = block.timestamp + 1 hours;
        records.shredSigned(patient, RECORD, 1, 0, deadline, _shredSig(PATIENT_KEY, patient, RECORD, 1, 0, deadline));
        vm.warp(block.timestamp + SHRED_DELAY);
        address stranger = address(0xBEEF);
        vm.expectEmit(true, true, false, true, address(records));
        emit RecordRegistry.Shredded(RECORD, patient);
        vm.prank(stranger);
        records.finalizeShred(patient, RECORD);
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.Shredded), "shredded");
        assertEq(records.nonces(patient), 1, "finalising takes no nonce");
        assertEq(records.nonces(stranger), 0, "nor the caller's");
    }

    /// @notice The bug this design fixes: a signed publish during the shred window used the nonce
    ///         a pre-signed finalisation had reserved. Now both land, in any order.
    function test_R11_PublishDuringShredWindowDoesNotBlockFinalisation() public {
        uint256 deadline = block.timestamp + 1 hours;
        records.shredSigned(patient, RECORD, 1, 0, deadline, _shredSig(PATIENT_KEY, patient, RECORD, 1, 0, deadline));
        records.publishBatchSigned(patient, ROOT, 1, 1, deadline, _publishSig(PATIENT_KEY, patient, ROOT, 1, 1, deadline));
        vm.warp(block.timestamp + SHRED_DELAY);
        records.finalizeShred(patient, RECORD); // long after every signature's deadline
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.Shredded), "shredded");
        assertEq(records.nonces(patient), 2, "request + publish");
    }

    function test_R11_CancelledShredCannotBeFinalized() public {
        vm.startPrank(patient);
        records.requestShred(patient, RECORD);
        records.cancelShred(patient, RECORD);
        vm.stopPrank();
        vm.warp(block.timestamp + SHRED_DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(
                RecordRegistry.RecordRegistryShredNotPending.selector, patient, RECORD, RecordRegistry.ShredState.None
            )
        );
        vm.prank(mallory);
        records.finalizeShred(patient, RECORD);
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.None), "not shredded");
    }

    function test_R11_NeverRequestedShredCannotBeFinalized() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                RecordRegistry.RecordRegistryShredNotPending.selector, patient, RECORD, RecordRegistry.ShredState.None
            )
        );
        records.finalizeShred(patient, RECORD);
    }

    function test_R11_FinalizeTwiceReverts() public {
        vm.prank(patient);
        records.requestShred(patient, RECORD);
        vm.warp(block.timestamp + SHRED_DELAY);
        records.finalizeShred(patient, RECORD);
        vm.expectRevert(
            abi.encodeWithSelector(
                RecordRegistry.RecordRegistryShredNotPending.selector, patient, RECORD, RecordRegistry.ShredState.Shredded
            )
        );
        vm.prank(mallory);
        records.finalizeShred(patient, RECORD);
    }

    /// @notice A pending request of another identity for the same record id is finalised for
    ///         that identity only.
    function test_FinalizeIsPerPatient() public {
        vm.prank(mallory);
        records.requestShred(mallory, RECORD);
        vm.prank(patient);
        records.requestShred(patient, RECORD);
        vm.warp(block.timestamp + SHRED_DELAY);
        vm.expectEmit(true, true, false, true, address(records));
        emit RecordRegistry.Shredded(RECORD, mallory);
        records.finalizeShred(mallory, RECORD);
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.Pending), "mine still pending");
    }

    function testFuzz_R11_AnyCallerFinalizesOnlyAfterDelay(address caller, uint64 delay, uint64 wait) public {
        delay = uint64(bound(delay, 0, 3650 days));
        wait = uint64(bound(wait, 0, 3650 days));
        RecordRegistry registry = new RecordRegistry(didRegistryAsIdentity(), delay);
        vm.prank(patient);
        registry.requestShred(patient, RECORD);
        uint64 executableAt = uint64(block.timestamp) + delay;
        vm.warp(block.timestamp + wait);
        if (wait < delay) {
            vm.expectRevert(
                abi.encodeWithSelector(RecordRegistry.RecordRegistryShredTooEarly.selector, RECORD, executableAt)
            );
        } else {
            vm.expectEmit(true, true, false, true, address(registry));
            emit RecordRegistry.Shredded(RECORD, patient);
        }
        vm.prank(caller);
        registry.finalizeShred(patient, RECORD);
        (RecordRegistry.ShredState state,) = registry.shredState(patient, RECORD);
        assertEq(
            uint256(state),
            uint256(wait < delay ? RecordRegistry.ShredState.Pending : RecordRegistry.ShredState.Shredded),
            "state"
        );
        assertEq(registry.nonces(patient), 0, "no nonce");
    }

    function test_ShredByOtherPatientDoesNotTouchMine() public {
        vm.prank(mallory);
        records.requestShred(mallory, RECORD);
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.None), "mine untouched");
        vm.prank(patient);
        records.requestShred(patient, RECORD); // a front-run claim cannot block the real patient
    }

    function test_ShredSignedRelayedAllActions() public {
        uint256 deadline = block.timestamp + 30 days;
        records.shredSigned(patient, RECORD, 1, 0, deadline, _shredSig(PATIENT_KEY, patient, RECORD, 1, 0, deadline));
        records.shredSigned(patient, RECORD, 2, 1, deadline, _shredSig(PATIENT_KEY, patient, RECORD, 2, 1, deadline));
        records.shredSigned(patient, RECORD, 1, 2, deadline, _shredSig(PATIENT_KEY, patient, RECORD, 1, 2, deadline));
        assertEq(uint256(_state(patient, RECORD)), uint256(RecordRegistry.ShredState.Pending), "pending again");
        // There is no signed finalisation any more (3 was Finalize): it is `finalizeShred`, for anyone.
        vm.warp(block.timestamp + SHRED_DELAY);
        bytes memory finalize = _shredSig(PATIENT_KEY, patient, RECORD, 3, 3, deadline);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryInvalidShredAction.selector, 3));
        records.shredSigned(patient, RECORD, 3, 3, deadline, finalize);
        assertEq(records.nonces(patient), 3, "three signed actions");
    }

    function test_T6_ShredSignedBySomeoneElseReverts() public {
        uint256 deadline = block.timestamp + 1 days;
        bytes memory sig = _shredSig(MALLORY_KEY, patient, RECORD, 1, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryInvalidSignature.selector, patient, patient));
        records.shredSigned(patient, RECORD, 1, 0, deadline, sig);
    }

    function testFuzz_T6_ShredSignedByRandomKeyReverts(uint256 key, bytes32 recordId, uint8 action) public {
        key = boundKey(key);
        vm.assume(vm.addr(key) != patient);
        action = uint8(bound(action, 1, 2));
        uint256 deadline = block.timestamp + 1 days;
        bytes memory sig = _shredSig(key, patient, recordId, action, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryInvalidSignature.selector, patient, patient));
        records.shredSigned(patient, recordId, action, 0, deadline, sig);
        assertEq(uint256(_state(patient, recordId)), uint256(RecordRegistry.ShredState.None), "untouched");
    }

    function testFuzz_ShredSignedRejectsUnknownAction(uint8 action) public {
        vm.assume(action == 0 || action > 2);
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryInvalidShredAction.selector, action));
        records.shredSigned(patient, RECORD, action, 0, block.timestamp, "");
    }
}

contract RecordRegistryBulkTest is Fixture {
    function _publication(uint256 key, bytes32 root, uint32 count, uint256 nonce)
        internal
        view
        returns (RecordRegistry.SignedPublication memory p)
    {
        address publisher = vm.addr(key);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(abi.encode(records.PUBLISH_TYPEHASH(), publisher, root, count, nonce, deadline));
        p = RecordRegistry.SignedPublication(publisher, root, count, nonce, deadline, _sign(key, _recordsDomain(), structHash));
    }

    function test_PublishBatchesSignedRelaysManyPublishers() public {
        RecordRegistry.SignedPublication[] memory ps = new RecordRegistry.SignedPublication[](3);
        ps[0] = _publication(PROVIDER_KEY, keccak256("a"), 1000, 0);
        ps[1] = _publication(PATIENT_KEY, keccak256("b"), 10, 0);
        ps[2] = _publication(PROVIDER_KEY, keccak256("c"), 7, 1);
        vm.expectEmit(true, true, false, true, address(records));
        emit RecordRegistry.BatchPublished(3, provider, keccak256("c"), 7);
        vm.prank(mallory);
        assertEq(records.publishBatchesSigned(ps), 1, "first id");
        assertEq(records.batchCount(), 3, "three batches");
        assertEq(records.batchRoot(2), keccak256("b"), "order kept");
        assertEq(records.nonces(provider), 2, "provider nonces used");
    }

    function test_T6_PublishBatchesSignedAllOrNothing() public {
        RecordRegistry.SignedPublication[] memory ps = new RecordRegistry.SignedPublication[](2);
        ps[0] = _publication(PROVIDER_KEY, keccak256("a"), 1000, 0);
        ps[1] = _publication(MALLORY_KEY, keccak256("b"), 10, 0);
        ps[1].publisher = patient; // mallory signs for the patient
        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryInvalidSignature.selector, patient, patient));
        records.publishBatchesSigned(ps);
        assertEq(records.batchCount(), 0, "nothing published");

        vm.expectRevert(abi.encodeWithSelector(RecordRegistry.RecordRegistryEmptyBatch.selector));
        records.publishBatchesSigned(new RecordRegistry.SignedPublication[](0));
    }
}

contract RecordRegistryProofFuzzTest is Fixture {
    function _pair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @notice Any four distinct records: each proves its inclusion; any changed field does not.
    function testFuzz_VerifyRecordFourLeafTree(bytes32[4] memory ids, bytes32[4] memory blobs, bytes32 tag, bytes32 salt, uint8 pick, bytes32 junk)
        public
    {
        bytes32[4] memory leaves;
        for (uint256 i = 0; i < 4; i++) {
            leaves[i] = records.recordLeaf(ids[i], blobs[i], tag, salt);
        }
        vm.assume(leaves[0] != leaves[1] && leaves[2] != leaves[3]);
        bytes32 left = _pair(leaves[0], leaves[1]);
        bytes32 right = _pair(leaves[2], leaves[3]);
        vm.prank(provider);
        uint256 batchId = records.publishBatch(provider, _pair(left, right), 4);

        uint256 k = pick % 4;
        bytes32[] memory proof = new bytes32[](2);
        proof[0] = leaves[k ^ 1];
        proof[1] = k < 2 ? right : left;
        assertTrue(records.verifyRecord(batchId, ids[k], blobs[k], tag, salt, proof), "included");
        vm.assume(junk != blobs[k]);
        assertFalse(records.verifyRecord(batchId, ids[k], junk, tag, salt, proof), "changed blob id rejected");
    }
}
