// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IIdentityRegistry} from "./identity/IIdentityRegistry.sol";

/// @title RecordRegistry
/// @notice Commitments to batches of encrypted records, and two-phase shred tombstones.
/// @dev A shred is requested (and may be cancelled) by the patient's owner, directly or relayed;
///      once its delay has passed, anyone may finalise it (`finalizeShred`): the patient's intent
///      is already on chain, so finalising needs no signature and consumes no nonce.
/// @dev A batch commits to the Merkle root of record leaves
///      `keccak256(bytes.concat(keccak256(abi.encode(recordId, blobId, categoryTag, patientCommitment))))`
///      (the OpenZeppelin `StandardMerkleTree` leaf for four `bytes32`; pairs hashed sorted). Only
///      the root is stored, so nothing on chain names the patient, the custodian, a code or a
///      resource type. Publishers and patients are ERC-1056 identities, authorised through
///      `identityOwner`, directly or through an EIP-712 signature relayed by anyone.
contract RecordRegistry is EIP712 {
    /// @notice The life of a shred tombstone.
    enum ShredState {
        None,
        Pending,
        Shredded
    }

    /// @notice What a signed `Shred` message asks for (finalising needs no signature: `finalizeShred`).
    enum ShredAction {
        None,
        Request,
        Cancel
    }

    /// @notice One signed publication in a bulk relay (see `publishBatchesSigned`).
    struct SignedPublication {
        address publisher;
        bytes32 root;
        uint32 count;
        uint256 nonce;
        uint256 deadline;
        bytes signature;
    }

    struct ShredRecord {
        ShredState state;
        uint64 executableAt;
    }

    /// @notice EIP-712 type of a relayed `publishBatch`.
    bytes32 public constant PUBLISH_TYPEHASH =
        keccak256("Publish(address publisher,bytes32 root,uint32 count,uint256 nonce,uint256 deadline)");
    /// @notice EIP-712 type of a relayed shred request or cancellation.
    bytes32 public constant SHRED_TYPEHASH =
        keccak256("Shred(address patient,bytes32 recordId,uint8 action,uint256 nonce,uint256 deadline)");

    IIdentityRegistry private immutable _identityRegistry;
    uint64 private immutable _shredDelay;

    /// @dev Batch roots; batch id `n` lives at index `n - 1`, so ids are 1, 2, 3, ...
    bytes32[] private _roots;
    mapping(address patient => mapping(bytes32 recordId => ShredRecord)) private _shreds;
    mapping(address identity => uint256) private _nonces;

    /// @notice The caller is not the current ERC-1056 owner of `identity`.
    /// @param identity The identity acted for.
    /// @param caller The caller.
    /// @param owner The identity's current owner.
    error RecordRegistryNotIdentityOwner(address identity, address caller, address owner);
    /// @notice A batch must commit to at least one record.
    error RecordRegistryEmptyBatch();
    /// @notice A batch root must not be zero.
    error RecordRegistryZeroRoot();
    /// @notice No batch has this id.
    /// @param batchId The unknown id.
    error RecordRegistryUnknownBatch(uint256 batchId);
    /// @notice The signed message's deadline has passed.
    /// @param deadline The signed deadline.
    /// @param timestamp The current block time.
    error RecordRegistrySignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signed nonce is not the identity's next nonce (replayed or out of order).
    /// @param identity The identity acted for.
    /// @param expected The next nonce.
    /// @param provided The signed nonce.
    error RecordRegistryInvalidNonce(address identity, uint256 expected, uint256 provided);
    /// @notice The signature is not the identity owner's over this message, domain and chain.
    /// @param identity The identity acted for.
    /// @param owner The identity's current owner, who must sign.
    error RecordRegistryInvalidSignature(address identity, address owner);
    /// @notice A signed shred message carries an action this function does not perform.
    /// @param action The action value.
    error RecordRegistryInvalidShredAction(uint8 action);
    /// @notice The record is already pending shred or shredded for this patient.
    /// @param patient The patient.
    /// @param recordId The record.
    /// @param state The current state.
    error RecordRegistryShredAlreadyRequested(address patient, bytes32 recordId, ShredState state);
    /// @notice The record is not pending shred for this patient (never requested, cancelled, or
    ///         already shredded: `state` says which).
    /// @param patient The patient.
    /// @param recordId The record.
    /// @param state The current state.
    error RecordRegistryShredNotPending(address patient, bytes32 recordId, ShredState state);
    /// @notice The shred delay has not elapsed yet.
    /// @param recordId The record.
    /// @param executableAt When it can be finalised.
    error RecordRegistryShredTooEarly(bytes32 recordId, uint64 executableAt);

    /// @notice A batch of records was committed.
    /// @param batchId The sequential batch id (from 1).
    /// @param publisher The publishing identity.
    /// @param root The Merkle root of the record leaves.
    /// @param count The number of records in the batch.
    event BatchPublished(uint256 indexed batchId, address indexed publisher, bytes32 root, uint32 count);
    /// @notice A patient asked to shred a record; it is denied everywhere from now on.
    /// @param recordId The record.
    /// @param patient The patient identity.
    /// @param executableAt When the shred can be finalised.
    event ShredRequested(bytes32 indexed recordId, address indexed patient, uint64 executableAt);
    /// @notice A pending shred was cancelled (possible until someone finalises it).
    /// @param recordId The record.
    /// @param patient The patient identity.
    event ShredCancelled(bytes32 indexed recordId, address indexed patient);
    /// @notice A record was shredded for good: every key to it must be destroyed.
    /// @param recordId The record.
    /// @param patient The patient identity.
    event Shredded(bytes32 indexed recordId, address indexed patient);

    /// @param identityRegistry_ The ERC-1056 registry authorising publishers and patients.
    /// @param shredDelay_ Seconds between a shred request and its earliest finalisation (0 allowed).
    constructor(IIdentityRegistry identityRegistry_, uint64 shredDelay_) EIP712("Carekey RecordRegistry", "1") {
        _identityRegistry = identityRegistry_;
        _shredDelay = shredDelay_;
    }

    // ------------------------------------------------------------------ batches

    /// @notice Commits a batch of records, sent by the publisher's current owner.
    /// @param publisher The publishing identity.
    /// @param root The Merkle root of the record leaves.
    /// @param count The number of records (> 0).
    /// @return batchId The new batch id.
    function publishBatch(address publisher, bytes32 root, uint32 count) external returns (uint256 batchId) {
        _checkOwner(publisher);
        return _publish(publisher, root, count);
    }

    /// @notice Commits a batch of records on a signature of the publisher's owner (relayed).
    /// @param publisher The publishing identity.
    /// @param root The Merkle root of the record leaves.
    /// @param count The number of records (> 0).
    /// @param nonce The publisher's next nonce (`nonces(publisher)`).
    /// @param deadline Last block time at which the signature is accepted.
    /// @param signature The owner's EIP-712 `Publish` signature (ECDSA or ERC-1271).
    /// @return batchId The new batch id.
    function publishBatchSigned(
        address publisher,
        bytes32 root,
        uint32 count,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 batchId) {
        _checkSigned(
            publisher, keccak256(abi.encode(PUBLISH_TYPEHASH, publisher, root, count, nonce, deadline)), nonce, deadline, signature
        );
        return _publish(publisher, root, count);
    }

    /// @notice Commits several signed batches (from any publishers) in one transaction, so the
    ///         relayer amortises the transaction's fixed cost. All or nothing: one invalid
    ///         publication reverts the call with its error (simulate first).
    /// @param publications The publications, each with its owner's EIP-712 `Publish` signature.
    /// @return firstBatchId The id of the first batch; the others follow sequentially.
    function publishBatchesSigned(SignedPublication[] calldata publications) external returns (uint256 firstBatchId) {
        if (publications.length == 0) revert RecordRegistryEmptyBatch();
        firstBatchId = _roots.length + 1;
        for (uint256 i = 0; i < publications.length; i++) {
            SignedPublication calldata p = publications[i];
            _checkSigned(
                p.publisher,
                keccak256(abi.encode(PUBLISH_TYPEHASH, p.publisher, p.root, p.count, p.nonce, p.deadline)),
                p.nonce,
                p.deadline,
                p.signature
            );
            _publish(p.publisher, p.root, p.count);
        }
    }

    /// @notice The number of batches published (also the last batch id).
    /// @return The batch count.
    function batchCount() external view returns (uint256) {
        return _roots.length;
    }

    /// @notice The Merkle root of a batch.
    /// @param batchId The batch id.
    /// @return The root.
    function batchRoot(uint256 batchId) external view returns (bytes32) {
        return _rootOf(batchId);
    }

    /// @notice The Merkle leaf of a record, as committed in batches.
    /// @param recordId The random record id.
    /// @param blobId The 32-byte digest of the ciphertext's CID.
    /// @param categoryTag The salted category tag.
    /// @param patientCommitment The salted commitment to the patient.
    /// @return The leaf hash.
    function recordLeaf(bytes32 recordId, bytes32 blobId, bytes32 categoryTag, bytes32 patientCommitment)
        public
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(recordId, blobId, categoryTag, patientCommitment))));
    }

    /// @notice Whether a record leaf is included in a batch.
    /// @param batchId The batch id (reverts if unknown).
    /// @param recordId The random record id.
    /// @param blobId The 32-byte digest of the ciphertext's CID.
    /// @param categoryTag The salted category tag.
    /// @param patientCommitment The salted commitment to the patient.
    /// @param proof The sorted-pair Merkle proof.
    /// @return True if the proof is valid.
    function verifyRecord(
        uint256 batchId,
        bytes32 recordId,
        bytes32 blobId,
        bytes32 categoryTag,
        bytes32 patientCommitment,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return MerkleProof.verifyCalldata(
            proof, _rootOf(batchId), recordLeaf(recordId, blobId, categoryTag, patientCommitment)
        );
    }

    // ------------------------------------------------------------------ shredding

    /// @notice Starts shredding a record (pending: every access is denied from now on).
    /// @param patient The patient identity; the caller must be its current owner.
    /// @param recordId The record.
    function requestShred(address patient, bytes32 recordId) external {
        _checkOwner(patient);
        _requestShred(patient, recordId);
    }

    /// @notice Cancels a pending shred. Guaranteed to work before `executableAt`; after it, only
    ///         while nobody has finalised the shred yet.
    /// @param patient The patient identity; the caller must be its current owner.
    /// @param recordId The record.
    function cancelShred(address patient, bytes32 recordId) external {
        _checkOwner(patient);
        _cancelShred(patient, recordId);
    }

    /// @notice Shreds a pending record for good once its delay has elapsed. Permissionless: the
    ///         patient's owner asked for it with `requestShred`, so anyone (the patient's node, the
    ///         patient, a third party) may finalise it from `executableAt` on, with no signature and
    ///         no nonce. A cancelled or never-requested record cannot be finalised, nor a shredded one again.
    /// @param patient The patient identity whose request is finalised.
    /// @param recordId The record.
    function finalizeShred(address patient, bytes32 recordId) external {
        _finalizeShred(patient, recordId);
    }

    /// @notice Requests or cancels a shred on a signature of the patient's owner (relayed).
    /// @param patient The patient identity.
    /// @param recordId The record.
    /// @param action 1 = request, 2 = cancel (anything else reverts; finalising is `finalizeShred`).
    /// @param nonce The patient's next nonce (`nonces(patient)`).
    /// @param deadline Last block time at which the signature is accepted.
    /// @param signature The owner's EIP-712 `Shred` signature (ECDSA or ERC-1271).
    function shredSigned(
        address patient,
        bytes32 recordId,
        uint8 action,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (action == 0 || action > uint8(ShredAction.Cancel)) revert RecordRegistryInvalidShredAction(action);
        _checkSigned(
            patient, keccak256(abi.encode(SHRED_TYPEHASH, patient, recordId, action, nonce, deadline)), nonce, deadline, signature
        );
        if (action == uint8(ShredAction.Request)) _requestShred(patient, recordId);
        else _cancelShred(patient, recordId);
    }

    /// @notice The shred state of a patient's record.
    /// @param patient The patient identity.
    /// @param recordId The record.
    /// @return state None, Pending or Shredded.
    /// @return executableAt When a pending shred can be finalised (0 if none).
    function shredState(address patient, bytes32 recordId) external view returns (ShredState state, uint64 executableAt) {
        ShredRecord memory shred = _shreds[patient][recordId];
        return (shred.state, shred.executableAt);
    }

    /// @notice The seconds between a shred request and its earliest finalisation.
    /// @return The delay.
    function shredDelay() external view returns (uint64) {
        return _shredDelay;
    }

    // ------------------------------------------------------------------ common

    /// @notice The next EIP-712 nonce of an identity (shared by `Publish` and `Shred`; `finalizeShred` takes none).
    /// @param identity The identity.
    /// @return The nonce to sign.
    function nonces(address identity) external view returns (uint256) {
        return _nonces[identity];
    }

    /// @notice The ERC-1056 registry this contract authorises through.
    /// @return The registry address.
    function identityRegistry() external view returns (address) {
        return address(_identityRegistry);
    }

    /// @notice The EIP-712 domain separator (name "Carekey RecordRegistry", version "1").
    /// @return The separator for the current chain.
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _publish(address publisher, bytes32 root, uint32 count) private returns (uint256 batchId) {
        if (count == 0) revert RecordRegistryEmptyBatch();
        if (root == bytes32(0)) revert RecordRegistryZeroRoot();
        _roots.push(root);
        batchId = _roots.length;
        emit BatchPublished(batchId, publisher, root, count);
    }

    function _rootOf(uint256 batchId) private view returns (bytes32) {
        if (batchId == 0 || batchId > _roots.length) revert RecordRegistryUnknownBatch(batchId);
        return _roots[batchId - 1];
    }

    function _requestShred(address patient, bytes32 recordId) private {
        ShredRecord storage shred = _shreds[patient][recordId];
        if (shred.state != ShredState.None) revert RecordRegistryShredAlreadyRequested(patient, recordId, shred.state);
        uint64 executableAt = uint64(block.timestamp) + _shredDelay;
        shred.state = ShredState.Pending;
        shred.executableAt = executableAt;
        emit ShredRequested(recordId, patient, executableAt);
    }

    function _cancelShred(address patient, bytes32 recordId) private {
        ShredRecord storage shred = _shreds[patient][recordId];
        if (shred.state != ShredState.Pending) revert RecordRegistryShredNotPending(patient, recordId, shred.state);
        shred.state = ShredState.None;
        shred.executableAt = 0;
        emit ShredCancelled(recordId, patient);
    }

    function _finalizeShred(address patient, bytes32 recordId) private {
        ShredRecord storage shred = _shreds[patient][recordId];
        if (shred.state != ShredState.Pending) revert RecordRegistryShredNotPending(patient, recordId, shred.state);
        if (block.timestamp < shred.executableAt) revert RecordRegistryShredTooEarly(recordId, shred.executableAt);
        shred.state = ShredState.Shredded;
        emit Shredded(recordId, patient);
    }

    function _checkOwner(address identity) private view {
        address owner = _identityRegistry.identityOwner(identity);
        if (msg.sender != owner) revert RecordRegistryNotIdentityOwner(identity, msg.sender, owner);
    }

    function _checkSigned(address identity, bytes32 structHash, uint256 nonce, uint256 deadline, bytes calldata signature)
        private
    {
        if (block.timestamp > deadline) revert RecordRegistrySignatureExpired(deadline, block.timestamp);
        uint256 expected = _nonces[identity];
        if (nonce != expected) revert RecordRegistryInvalidNonce(identity, expected, nonce);
        address owner = _identityRegistry.identityOwner(identity);
        if (!_isOwnerSignature(owner, _hashTypedDataV4(structHash), signature)) {
            revert RecordRegistryInvalidSignature(identity, owner);
        }
        _nonces[identity] = expected + 1;
    }

    /// @dev ECDSA first (owners are usually EOAs; skips a cold EXTCODESIZE), then ERC-1271 for
    ///      contract owners such as a multisig or a recovery contract.
    function _isOwnerSignature(address owner, bytes32 digest, bytes calldata signature) private view returns (bool) {
        (address recovered, ECDSA.RecoverError error_,) = ECDSA.tryRecover(digest, signature);
        if (error_ == ECDSA.RecoverError.NoError && recovered == owner) return true;
        return owner.code.length > 0 && SignatureChecker.isValidERC1271SignatureNow(owner, digest, signature);
    }
}
