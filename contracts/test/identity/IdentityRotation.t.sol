// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {RecordRegistry} from "../../src/RecordRegistry.sol";
import {Fixture} from "../utils/Fixture.sol";
import {ContractOwner} from "../mocks/ContractOwner.sol";

/// @notice T-6: an ERC-1056 `changeOwner` (key rotation, social recovery) takes effect in every
///         Carekey contract at once: the old key is powerless, the new key works, nothing migrates.
contract IdentityRotationTest is Fixture {
    bytes32 internal constant TREAT = bytes32("TREAT");
    bytes32 internal constant RECORD = keccak256("record");

    uint64 internal expiresAt;
    uint256 internal deadline;

    function setUp() public override {
        super.setUp();
        expiresAt = uint64(block.timestamp + 30 days);
        deadline = block.timestamp + 1 hours;
    }

    function _tags() internal pure returns (bytes32[] memory tags) {
        tags = new bytes32[](1);
        tags[0] = keccak256("lab");
    }

    function _grantSig(uint256 key, uint256 nonce)
        internal
        view
        returns (bytes memory)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                consent.GRANT_TYPEHASH(),
                patient,
                provider,
                uint8(1),
                keccak256(abi.encodePacked(_tags())),
                TREAT,
                expiresAt,
                bytes32(0),
                nonce,
                deadline
            )
        );
        return _sign(key, _consentDomain(), structHash);
    }

    function test_T6_RotationMovesConsentPowersToNewKey() public {
        vm.prank(patient);
        bytes32 before = consent.createGrant(patient, provider, 1, _tags(), TREAT, expiresAt, 0);
        bytes memory preSigned = _grantSig(PATIENT_KEY, 0); // signed before the rotation

        _rotate(patient, PATIENT_KEY, newOwner);
        assertEq(didRegistry.identityOwner(patient), newOwner, "rotated");

        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryNotIdentityOwner.selector, patient, patient, newOwner)
        );
        vm.prank(patient);
        consent.createGrant(patient, provider, 1, _tags(), TREAT, expiresAt, 0);

        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryNotIdentityOwner.selector, patient, patient, newOwner)
        );
        vm.prank(patient);
        consent.revokeGrant(before);

        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, newOwner));
        consent.createGrantSigned(patient, provider, 1, _tags(), TREAT, expiresAt, 0, 0, deadline, preSigned);

        // The new key works, directly and signed, on grants made before the rotation too.
        bytes32 signedByNew = consent.createGrantSigned(
            patient, provider, 1, _tags(), TREAT, expiresAt, 0, 0, deadline, _grantSig(NEW_OWNER_KEY, 0)
        );
        assertTrue(consent.isActive(signedByNew), "new key grants");
        vm.prank(newOwner);
        consent.revokeGrant(before);
        assertFalse(consent.isActive(before), "new key revokes an old grant");
    }

    function test_T6_RotationMovesRecordPowersToNewKey() public {
        vm.prank(patient);
        records.requestShred(patient, RECORD);
        _rotate(patient, PATIENT_KEY, newOwner);
        _rotate(provider, PROVIDER_KEY, mallory); // the provider rotates too

        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistryNotIdentityOwner.selector, patient, patient, newOwner)
        );
        vm.prank(patient);
        records.cancelShred(patient, RECORD);

        vm.expectRevert(
            abi.encodeWithSelector(RecordRegistry.RecordRegistryNotIdentityOwner.selector, provider, provider, mallory)
        );
        vm.prank(provider);
        records.publishBatch(provider, keccak256("root"), 3);

        vm.prank(mallory);
        assertEq(records.publishBatch(provider, keccak256("root"), 3), 1, "new provider key publishes");
        vm.warp(block.timestamp + SHRED_DELAY);
        vm.prank(newOwner);
        records.finalizeShred(patient, RECORD);
        (RecordRegistry.ShredState state,) = records.shredState(patient, RECORD);
        assertEq(uint256(state), uint256(RecordRegistry.ShredState.Shredded), "new key finalises");
    }

    function testFuzz_T6_RotationToAnyKey(uint256 newKey) public {
        newKey = boundKey(newKey);
        address next = vm.addr(newKey);
        vm.assume(next != patient);
        _rotate(patient, PATIENT_KEY, next);
        bytes memory oldSig = _grantSig(PATIENT_KEY, 0);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, next));
        consent.createGrantSigned(patient, provider, 1, _tags(), TREAT, expiresAt, 0, 0, deadline, oldSig);
        bytes32 grantId = consent.createGrantSigned(
            patient, provider, 1, _tags(), TREAT, expiresAt, 0, 0, deadline, _grantSig(newKey, 0)
        );
        assertTrue(consent.isActive(grantId), "granted by new key");
    }
}

/// @notice An identity owned by a contract (multisig, recovery) acts through ERC-1271 signatures.
contract ContractOwnedIdentityTest is Fixture {
    function test_T6_ContractOwnerSignsThroughErc1271() public {
        ContractOwner wallet = new ContractOwner();
        _rotate(patient, PATIENT_KEY, address(wallet));
        bytes32[] memory tags = new bytes32[](1);
        tags[0] = keccak256("lab");
        uint64 expiresAt = uint64(block.timestamp + 1 days);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                consent.GRANT_TYPEHASH(),
                patient,
                provider,
                uint8(1),
                keccak256(abi.encodePacked(tags)),
                bytes32("TREAT"),
                expiresAt,
                bytes32(0),
                uint256(0),
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", _consentDomain(), structHash));

        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, address(wallet))
        );
        consent.createGrantSigned(patient, provider, 1, tags, bytes32("TREAT"), expiresAt, 0, 0, deadline, "");

        bytes memory oldKeySig = _sign(PATIENT_KEY, _consentDomain(), structHash);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, address(wallet))
        );
        consent.createGrantSigned(patient, provider, 1, tags, bytes32("TREAT"), expiresAt, 0, 0, deadline, oldKeySig);

        wallet.approve(digest);
        bytes32 grantId =
            consent.createGrantSigned(patient, provider, 1, tags, bytes32("TREAT"), expiresAt, 0, 0, deadline, "");
        assertTrue(consent.isActive(grantId), "granted through ERC-1271");
    }
}
