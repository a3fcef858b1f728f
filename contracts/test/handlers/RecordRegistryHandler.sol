// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RecordRegistry} from "../../src/RecordRegistry.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives RecordRegistry for the invariant campaign: owners publish and shred (request,
///         cancel; directly or signed), anyone finalises (permissionless after the delay), random
///         callers try the owners' actions, time moves. Ghost state tracks batches, shredded
///         records, signed nonces, and any success that should have reverted.
contract RecordRegistryHandler {
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    RecordRegistry public immutable records;
    address[2] public identities = [address(0xA11CE), address(0xB0B0)];

    uint256 public ghostBatches;
    bool public batchCountWentBackwards;
    bool public unauthorizedMutation;
    /// @notice A finalisation succeeded for a record that was not pending, or before its executableAt,
    ///         or one that was due reverted.
    bool public finalizeOutOfTurn;
    /// @notice Successful signed actions per key-held identity: its nonce must equal this.
    mapping(address identity => uint256) public ghostSignedNonces;
    uint256[2] internal _keys = [uint256(0xC0DE1), uint256(0xC0DE2)];

    struct Key {
        address patient;
        bytes32 recordId;
    }

    Key[] internal _shredded;

    constructor(RecordRegistry records_) {
        records = records_;
    }

    function shreddedCount() external view returns (uint256) {
        return _shredded.length;
    }

    function shredded(uint256 i) external view returns (address patient, bytes32 recordId) {
        Key memory key = _shredded[i];
        return (key.patient, key.recordId);
    }

    /// @dev Few record ids, so requests, cancels and finalisations hit the same records.
    function _record(uint256 seed) internal pure returns (bytes32) {
        return keccak256(abi.encode("record", seed % 8));
    }

    function _state(address patient, bytes32 recordId) internal view returns (RecordRegistry.ShredState state) {
        (state,) = records.shredState(patient, recordId);
    }

    function publishAsOwner(uint256 who, bytes32 root, uint32 count) external {
        if (root == bytes32(0)) root = keccak256("root");
        if (count == 0) count = 1;
        uint256 before = records.batchCount();
        vm.prank(identities[who % 2]);
        uint256 batchId = records.publishBatch(identities[who % 2], root, count);
        if (batchId != before + 1 || records.batchCount() != before + 1) batchCountWentBackwards = true;
        ghostBatches++;
    }

    /// @notice A relayer submits 1-3 signed publications from key-held publishers in one call.
    function publishBulkSigned(uint8 n, bytes32 root) external {
        uint256 count = 1 + (n % 3);
        RecordRegistry.SignedPublication[] memory ps = new RecordRegistry.SignedPublication[](count);
        uint256[2] memory used;
        for (uint256 i = 0; i < count; i++) {
            uint256 k = (uint256(root) % 2 + i) % 2; // no overflow on root = 2**256 - 1
            uint256 key = k == 0 ? 0xC0DE1 : 0xC0DE2;
            address publisher = vm.addr(key);
            uint256 nonce = records.nonces(publisher) + used[k]++;
            ghostSignedNonces[publisher]++;
            bytes32 batchRoot = keccak256(abi.encode(root, i));
            bytes32 structHash =
                keccak256(abi.encode(records.PUBLISH_TYPEHASH(), publisher, batchRoot, uint32(7), nonce, block.timestamp));
            (uint8 v, bytes32 r, bytes32 s) =
                vm.sign(key, keccak256(abi.encodePacked("\x19\x01", records.DOMAIN_SEPARATOR(), structHash)));
            ps[i] = RecordRegistry.SignedPublication(publisher, batchRoot, 7, nonce, block.timestamp, abi.encodePacked(r, s, v));
        }
        uint256 before = records.batchCount();
        uint256 firstId = records.publishBatchesSigned(ps);
        if (firstId != before + 1 || records.batchCount() != before + count) batchCountWentBackwards = true;
        ghostBatches += count;
    }

    function requestShred(uint256 who, uint256 seed) external {
        address patient = identities[who % 2];
        bytes32 recordId = _record(seed);
        if (_state(patient, recordId) != RecordRegistry.ShredState.None) return;
        vm.prank(patient);
        records.requestShred(patient, recordId);
    }

    function cancelShred(uint256 who, uint256 seed) external {
        address patient = identities[who % 2];
        bytes32 recordId = _record(seed);
        if (_state(patient, recordId) != RecordRegistry.ShredState.Pending) return;
        vm.prank(patient);
        records.cancelShred(patient, recordId);
    }

    /// @notice Every identity a shred may be requested for (plain owners and key-held signers).
    function _anyIdentity(uint256 who) internal view returns (address) {
        uint256 i = who % 4;
        return i < 2 ? identities[i] : vm.addr(_keys[i - 2]);
    }

    /// @notice A key-held identity requests or cancels a shred by signature (relayed, takes a nonce).
    function shredSignedAsOwner(uint256 k, uint256 seed, bool cancel) external {
        uint256 key = _keys[k % 2];
        address patient = vm.addr(key);
        bytes32 recordId = _record(seed);
        RecordRegistry.ShredState state = _state(patient, recordId);
        if (cancel ? state != RecordRegistry.ShredState.Pending : state != RecordRegistry.ShredState.None) return;
        uint8 action = cancel ? 2 : 1;
        uint256 nonce = records.nonces(patient);
        bytes32 structHash =
            keccak256(abi.encode(records.SHRED_TYPEHASH(), patient, recordId, action, nonce, block.timestamp));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", records.DOMAIN_SEPARATOR(), structHash)));
        records.shredSigned(patient, recordId, action, nonce, block.timestamp, abi.encodePacked(r, s, v));
        ghostSignedNonces[patient]++;
    }

    /// @notice Anyone (the owner, a stranger, this handler) tries to finalise, in any state: it must
    ///         succeed exactly when the record is pending and due.
    function finalizeAsAnyone(address caller, uint256 who, uint256 seed) external {
        address patient = _anyIdentity(who);
        bytes32 recordId = _record(seed);
        (RecordRegistry.ShredState state, uint64 executableAt) = records.shredState(patient, recordId);
        bool due = state == RecordRegistry.ShredState.Pending && block.timestamp >= executableAt;
        vm.prank(caller);
        try records.finalizeShred(patient, recordId) {
            if (!due) finalizeOutOfTurn = true;
            _shredded.push(Key(patient, recordId));
        } catch {
            if (due) finalizeOutOfTurn = true;
        }
    }

    /// @notice Owners keep trying to revive shredded records; every attempt must revert.
    function reviveShredded(uint256 index, bool cancel) external {
        if (_shredded.length == 0) return;
        Key memory key = _shredded[index % _shredded.length];
        vm.prank(key.patient);
        if (cancel) {
            try records.cancelShred(key.patient, key.recordId) {
                unauthorizedMutation = true;
            } catch {}
        } else {
            try records.requestShred(key.patient, key.recordId) {
                unauthorizedMutation = true;
            } catch {}
        }
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 3 days));
    }

    /// @notice Random callers try the owner-only actions (finalising is open to all: `finalizeAsAnyone`).
    function actAsRandomCaller(address caller, uint256 who, uint256 seed, uint8 action) external {
        address identity = identities[who % 2];
        if (caller == identity) return;
        bytes32 recordId = _record(seed);
        vm.prank(caller);
        if (action % 3 == 0) {
            try records.publishBatch(identity, keccak256("evil"), 1) {
                unauthorizedMutation = true;
            } catch {}
        } else if (action % 3 == 1) {
            try records.requestShred(identity, recordId) {
                unauthorizedMutation = true;
            } catch {}
        } else {
            try records.cancelShred(identity, recordId) {
                unauthorizedMutation = true;
            } catch {}
        }
    }
}
