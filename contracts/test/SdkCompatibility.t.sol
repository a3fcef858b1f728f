// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {Fixture} from "./utils/Fixture.sol";

/// @notice Values computed by the SDK (`packages/sdk/src/chain/merkle.ts`, `typedData.ts`; the same
///         constants are asserted in `merkle.test.ts` and `typedData.test.ts`), checked here by the
///         contracts: a TS-built root and proof verify on chain, and a viem-signed grant is accepted.
contract SdkCompatibilityTest is Fixture {
    // buildRecordTree over records i = 0..4: recordId = keccak256("record-i"), blobId = keccak256("blob-i"),
    // categoryTag = keccak256("category-(i % 2)"), patientCommitment = keccak256("patient-commitment").
    bytes32 internal constant RECORD_ROOT = 0xc725f67fc71ddf76ba39bdc857ce72d9adff275f95d76c5bd70603e033374e19;
    bytes32 internal constant RECORD_ID_ROOT = 0xc6610e8b0e53692aa5a711595a976a9754eb084ae11312591fb754084738affd;
    bytes internal constant GRANT_SIGNATURE =
        hex"9af2f95c97e7290f78dc9ec64fbe9f970ada096256740ff1a72572aa50e8bb2b2c629bde62cc2e8560ab5d76c65d6cbd00800156b0f1857514c7e19f53998e2f1c";
    address internal constant VERIFYING_CONTRACT = address(0xc0ffee);

    function _two(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](2);
        out[0] = a;
        out[1] = b;
    }

    function test_TsMerkleRootAndProofVerifyOnChain() public {
        vm.prank(provider);
        uint256 batchId = records.publishBatch(provider, RECORD_ROOT, 5);
        bytes32[] memory proof = _two(
            0x8f016ae06f031ee530ddb15e48aed9e4e75c0a030133d6fc119be7b15e5f2070,
            0x620482a986d21f03f84776b72d38be0f69f7aa90afda99034b9e2dbc6e1731d0
        );
        bytes32 recordId = keccak256("record-2");
        bytes32 blobId = keccak256("blob-2");
        bytes32 categoryTag = keccak256("category-0");
        bytes32 commitment = keccak256("patient-commitment");
        assertTrue(records.verifyRecord(batchId, recordId, blobId, categoryTag, commitment, proof), "TS proof verifies");
        assertFalse(
            records.verifyRecord(batchId, recordId, blobId, keccak256("category-1"), commitment, proof),
            "a changed field does not"
        );
    }

    function test_TsRecordIdRootCoversProvenRecord() public {
        bytes32[] memory scope = new bytes32[](1);
        scope[0] = RECORD_ID_ROOT;
        vm.prank(patient);
        bytes32 grantId =
            consent.createGrant(patient, provider, 2, scope, bytes32("TREAT"), uint64(block.timestamp + 1 days), 0);
        bytes32[] memory proof = _two(
            0xf2170a6446a71d600db43805ec8d26f7512e502a86919dba094f6637ed8f30b6,
            0xc88e8e0d8c5f01270cbbc43df41de583458dce03eb991e6dff9f29f4f114dbe5
        );
        assertTrue(consent.covers(grantId, keccak256("record-3"), bytes32(0), proof), "record-3 covered");
        assertFalse(consent.covers(grantId, keccak256("record-9"), bytes32(0), proof), "record-9 not covered");
    }

    function test_T6_ViemSignedGrantAcceptedByContract() public {
        // Run the deployed code at the address the SDK signed for; OZ EIP712 rebuilds the
        // domain separator from address(this), so the signature must match the real domain.
        vm.etch(VERIFYING_CONTRACT, address(consent).code);
        ConsentRegistry atVector = ConsentRegistry(VERIFYING_CONTRACT);
        assertEq(block.chainid, 31337, "vector chain id");
        assertEq(patient, 0xe05fcC23807536bEe418f142D19fa0d21BB0cfF7, "vector patient");
        bytes32[] memory tags = _two(keccak256("category-0"), keccak256("category-1"));
        bytes32 grantId = atVector.createGrantSigned(
            patient, provider, 1, tags, bytes32("TREAT"), 1_800_000_000, 0, 0, 1_760_000_000, GRANT_SIGNATURE
        );
        assertTrue(atVector.isActive(grantId), "grant created from the viem signature");

        // The same signature on the originally deployed contract (other verifyingContract) fails.
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, patient));
        consent.createGrantSigned(
            patient, provider, 1, tags, bytes32("TREAT"), 1_800_000_000, 0, 0, 1_760_000_000, GRANT_SIGNATURE
        );
    }
}
