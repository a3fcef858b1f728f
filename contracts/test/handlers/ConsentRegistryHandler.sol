// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EthereumDIDRegistry} from "ethr-did-registry/contracts/EthereumDIDRegistry.sol";
import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives ConsentRegistry for the invariant campaign: owners grant, revoke and rotate
///         keys; random callers and random keys try the same; time moves. Ghost state records
///         what should be true, and any success by a non-owner.
contract ConsentRegistryHandler {
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);
    uint256 internal constant SECP256K1_N_MINUS_1 =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140;

    /// @dev Bounds the per-call invariant check (it walks every grant) on long nightly runs.
    uint256 internal constant MAX_TRACKED_GRANTS = 64;

    ConsentRegistry public immutable consent;
    EthereumDIDRegistry public immutable didRegistry;

    address[2] public patients;
    uint256[2] public ownerKeys; // current owner key of each patient
    bytes32[] public grantIds;
    mapping(bytes32 grantId => bool) public ghostRevoked;
    mapping(address patient => uint256) public ghostGrantCount;
    /// @notice Set if a caller or signer that was not the identity owner changed anything.
    bool public unauthorizedMutation;
    uint256 public unauthorizedAttempts;

    constructor(ConsentRegistry consent_, EthereumDIDRegistry didRegistry_) {
        consent = consent_;
        didRegistry = didRegistry_;
        ownerKeys = [uint256(0xA11CE), uint256(0xB0B0)];
        patients = [vm.addr(ownerKeys[0]), vm.addr(ownerKeys[1])];
    }

    function grantCount() external view returns (uint256) {
        return grantIds.length;
    }

    function _tags(bytes32 tag) internal pure returns (bytes32[] memory tags) {
        tags = new bytes32[](1);
        tags[0] = tag;
    }

    function _owner(uint256 i) internal view returns (address) {
        return vm.addr(ownerKeys[i]);
    }

    // ------------------------------------------------------------------ owners

    function grantAsOwner(uint256 who, address grantee, bytes32 tag, uint64 lifetime) external {
        if (grantIds.length >= MAX_TRACKED_GRANTS) return;
        uint256 i = who % 2;
        if (grantee == address(0)) grantee = address(0xBEEF);
        uint64 expiresAt = uint64(block.timestamp) + 1 + (lifetime % 30 days);
        vm.prank(_owner(i));
        bytes32 grantId = consent.createGrant(patients[i], grantee, 1, _tags(tag), bytes32("TREAT"), expiresAt, 0);
        grantIds.push(grantId);
        ghostGrantCount[patients[i]]++;
    }

    function grantSignedByOwner(uint256 who, bytes32 tag, uint64 lifetime) external {
        if (grantIds.length >= MAX_TRACKED_GRANTS) return;
        uint256 i = who % 2;
        uint64 expiresAt = uint64(block.timestamp) + 1 + (lifetime % 30 days);
        uint256 nonce = consent.nonces(patients[i]);
        bytes memory sig = _signGrant(ownerKeys[i], patients[i], tag, expiresAt, nonce);
        bytes32 grantId = consent.createGrantSigned(
            patients[i], address(0xBEEF), 1, _tags(tag), bytes32("TREAT"), expiresAt, 0, nonce, block.timestamp, sig
        );
        grantIds.push(grantId);
        ghostGrantCount[patients[i]]++;
    }

    function revokeAsOwner(uint256 index) external {
        if (grantIds.length == 0) return;
        bytes32 grantId = grantIds[index % grantIds.length];
        if (ghostRevoked[grantId]) return;
        address patient = consent.getGrant(grantId).patient;
        uint256 i = patient == patients[0] ? 0 : 1;
        vm.prank(_owner(i));
        consent.revokeGrant(grantId);
        ghostRevoked[grantId] = true;
    }

    function rotateOwner(uint256 who, uint256 newKey) external {
        uint256 i = who % 2;
        newKey = 1 + (newKey % SECP256K1_N_MINUS_1);
        vm.prank(_owner(i));
        didRegistry.changeOwner(patients[i], vm.addr(newKey));
        ownerKeys[i] = newKey;
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 10 days));
    }

    // ------------------------------------------------------------------ everyone else

    function grantAsRandomCaller(address caller, uint256 who, bytes32 tag) external {
        uint256 i = who % 2;
        if (caller == _owner(i)) return;
        unauthorizedAttempts++;
        vm.prank(caller);
        try consent.createGrant(
            patients[i], caller, 0, new bytes32[](0), bytes32("TREAT"), uint64(block.timestamp + 1 days), 0
        ) returns (bytes32) {
            unauthorizedMutation = true;
        } catch {}
        tag;
    }

    function grantSignedByRandomKey(uint256 key, uint256 who, bytes32 tag) external {
        uint256 i = who % 2;
        key = 1 + (key % SECP256K1_N_MINUS_1);
        if (key == ownerKeys[i]) return;
        unauthorizedAttempts++;
        uint64 expiresAt = uint64(block.timestamp + 1 days);
        uint256 nonce = consent.nonces(patients[i]);
        bytes memory sig = _signGrant(key, patients[i], tag, expiresAt, nonce);
        try consent.createGrantSigned(
            patients[i], address(0xBEEF), 1, _tags(tag), bytes32("TREAT"), expiresAt, 0, nonce, block.timestamp, sig
        ) returns (bytes32) {
            unauthorizedMutation = true;
        } catch {}
    }

    function revokeAsRandomCaller(address caller, uint256 index) external {
        if (grantIds.length == 0) return;
        bytes32 grantId = grantIds[index % grantIds.length];
        address patient = consent.getGrant(grantId).patient;
        if (caller == didRegistry.identityOwner(patient)) return;
        unauthorizedAttempts++;
        vm.prank(caller);
        try consent.revokeGrant(grantId) {
            unauthorizedMutation = true;
        } catch {}
    }

    function _signGrant(uint256 key, address patient, bytes32 tag, uint64 expiresAt, uint256 nonce)
        internal
        view
        returns (bytes memory)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                consent.GRANT_TYPEHASH(),
                patient,
                address(0xBEEF),
                uint8(1),
                keccak256(abi.encodePacked(_tags(tag))),
                bytes32("TREAT"),
                expiresAt,
                bytes32(0),
                nonce,
                block.timestamp
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", consent.DOMAIN_SEPARATOR(), structHash)));
        return abi.encodePacked(r, s, v);
    }
}
