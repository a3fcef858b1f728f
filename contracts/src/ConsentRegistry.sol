// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IIdentityRegistry} from "./identity/IIdentityRegistry.sol";

/// @title ConsentRegistry
/// @notice Patients' grants (scope, purpose of use, expiry), their revocation, and providers'
///         access requests. Every patient action is taken by the patient's current ERC-1056 owner,
///         directly or through an EIP-712 signature relayed by anyone (the node pays gas).
/// @dev Scope encoding (`scopeKind`, `scopeData`):
///      - `All` (0): `scopeData` empty;
///      - `Categories` (1): 1..64 salted category tags;
///      - `Records` (2): exactly one Merkle root over leaves
///        `keccak256(bytes.concat(keccak256(abi.encode(recordId))))`, pairs hashed sorted.
///      Expiry is judged by chain time: a grant is active while `block.timestamp < expiresAt`.
contract ConsentRegistry is EIP712 {
    /// @notice What a grant covers.
    enum ScopeKind {
        All,
        Categories,
        Records
    }

    /// @notice The life of an access request.
    enum RequestStatus {
        None,
        Pending,
        Approved,
        Denied
    }

    /// @notice A grant as stored.
    struct Grant {
        address patient;
        uint64 createdAt;
        ScopeKind scopeKind;
        bool revoked;
        address grantee;
        uint64 expiresAt;
        bytes32 purpose;
        bytes32 requestId;
        bytes32[] scopeData;
    }

    /// @notice An access request as stored.
    struct AccessRequest {
        address patient;
        ScopeKind scopeKind;
        RequestStatus status;
        address requester;
        uint64 expiresAt;
        bytes32 purpose;
        bytes32 grantId;
        bytes32[] scopeData;
    }

    /// @notice The most tags (or roots) a scope may carry.
    uint256 public constant MAX_SCOPE_ITEMS = 64;

    /// @notice EIP-712 type of a relayed grant.
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(address patient,address grantee,uint8 scopeKind,bytes32[] scopeData,bytes32 purpose,uint64 expiresAt,bytes32 requestId,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type of a relayed revocation.
    bytes32 public constant REVOKE_TYPEHASH =
        keccak256("Revoke(address patient,bytes32 grantId,uint256 nonce,uint256 deadline)");
    /// @notice EIP-712 type of a relayed denial of an access request.
    bytes32 public constant DENY_TYPEHASH =
        keccak256("Deny(address patient,bytes32 requestId,uint256 nonce,uint256 deadline)");
    /// @notice EIP-712 type of a relayed access request (signed by the requester's owner).
    bytes32 public constant ACCESS_REQUEST_TYPEHASH = keccak256(
        "AccessRequest(address requester,address patient,uint8 scopeKind,bytes32[] scopeData,bytes32 purpose,uint64 expiresAt,uint256 nonce,uint256 deadline)"
    );

    IIdentityRegistry private immutable _identityRegistry;

    mapping(bytes32 grantId => Grant) private _grants;
    mapping(bytes32 requestId => AccessRequest) private _requests;
    mapping(address identity => uint256) private _nonces;
    mapping(address patient => uint256) private _grantCounts;
    mapping(address requester => uint256) private _requestCounts;

    /// @notice The caller is not the current ERC-1056 owner of `identity`.
    /// @param identity The identity acted for.
    /// @param caller The caller.
    /// @param owner The identity's current owner.
    error ConsentRegistryNotIdentityOwner(address identity, address caller, address owner);
    /// @notice The signed message's deadline has passed.
    /// @param deadline The signed deadline.
    /// @param timestamp The current block time.
    error ConsentRegistrySignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signed nonce is not the identity's next nonce (replayed or out of order).
    /// @param identity The identity acted for.
    /// @param expected The next nonce.
    /// @param provided The signed nonce.
    error ConsentRegistryInvalidNonce(address identity, uint256 expected, uint256 provided);
    /// @notice The signature is not the identity owner's over this message, domain and chain.
    /// @param identity The identity acted for.
    /// @param owner The identity's current owner, who must sign.
    error ConsentRegistryInvalidSignature(address identity, address owner);
    /// @notice The grantee must not be the zero address.
    error ConsentRegistryZeroGrantee();
    /// @notice The patient must not be the zero address.
    error ConsentRegistryZeroPatient();
    /// @notice The purpose of use must be set (an HL7 PurposeOfUse code as bytes32).
    error ConsentRegistryZeroPurpose();
    /// @notice The expiry is not in the future.
    /// @param expiresAt The requested expiry.
    /// @param timestamp The current block time.
    error ConsentRegistryExpiryInPast(uint64 expiresAt, uint256 timestamp);
    /// @notice The scope data does not fit the scope kind.
    /// @param scopeKind The scope kind.
    /// @param length The number of scope items given.
    error ConsentRegistryInvalidScope(uint8 scopeKind, uint256 length);
    /// @notice No grant has this id.
    /// @param grantId The unknown id.
    error ConsentRegistryUnknownGrant(bytes32 grantId);
    /// @notice The grant was already revoked.
    /// @param grantId The grant.
    error ConsentRegistryGrantAlreadyRevoked(bytes32 grantId);
    /// @notice No access request has this id.
    /// @param requestId The unknown id.
    error ConsentRegistryUnknownRequest(bytes32 requestId);
    /// @notice The access request was already answered.
    /// @param requestId The request.
    /// @param status Its status.
    error ConsentRegistryRequestNotPending(bytes32 requestId, RequestStatus status);
    /// @notice A grant answering a request must be from the request's patient to its requester.
    /// @param requestId The request.
    /// @param patient The request's patient.
    /// @param requester The request's requester.
    error ConsentRegistryRequestMismatch(bytes32 requestId, address patient, address requester);

    /// @notice A patient granted access.
    /// @param grantId The new grant id.
    /// @param patient The patient identity.
    /// @param grantee The grantee identity.
    /// @param scopeKind The scope kind.
    /// @param scopeData Category tags or the record-id root.
    /// @param purpose The HL7 PurposeOfUse code.
    /// @param expiresAt Chain time at which the grant lapses.
    /// @param requestId The access request answered (zero if none).
    event GrantCreated(
        bytes32 indexed grantId,
        address indexed patient,
        address indexed grantee,
        ScopeKind scopeKind,
        bytes32[] scopeData,
        bytes32 purpose,
        uint64 expiresAt,
        bytes32 requestId
    );
    /// @notice A patient revoked a grant.
    /// @param grantId The grant.
    /// @param patient The patient identity.
    /// @param grantee The grantee identity.
    event GrantRevoked(bytes32 indexed grantId, address indexed patient, address indexed grantee);
    /// @notice A provider asked a patient for access.
    /// @param requestId The new request id.
    /// @param patient The patient identity.
    /// @param requester The requesting identity.
    /// @param scopeKind The scope kind asked for.
    /// @param scopeData Category tags or the record-id root asked for.
    /// @param purpose The HL7 PurposeOfUse code.
    /// @param expiresAt The expiry asked for.
    event AccessRequested(
        bytes32 indexed requestId,
        address indexed patient,
        address indexed requester,
        ScopeKind scopeKind,
        bytes32[] scopeData,
        bytes32 purpose,
        uint64 expiresAt
    );
    /// @notice A patient approved an access request with a grant.
    /// @param requestId The request.
    /// @param grantId The grant created.
    event AccessRequestApproved(bytes32 indexed requestId, bytes32 indexed grantId);
    /// @notice A patient denied an access request.
    /// @param requestId The request.
    /// @param patient The patient identity.
    event AccessRequestDenied(bytes32 indexed requestId, address indexed patient);

    /// @param identityRegistry_ The ERC-1056 registry authorising patients and requesters.
    constructor(IIdentityRegistry identityRegistry_) EIP712("Carekey ConsentRegistry", "1") {
        _identityRegistry = identityRegistry_;
    }

    // ------------------------------------------------------------------ grants

    /// @notice Creates a grant, sent by the patient's current owner.
    /// @param patient The patient identity.
    /// @param grantee The grantee identity.
    /// @param scopeKind 0 = all, 1 = category tags, 2 = record-id Merkle root.
    /// @param scopeData The tags or the root (see the contract notes).
    /// @param purpose The HL7 PurposeOfUse code (e.g. "TREAT") as bytes32.
    /// @param expiresAt Chain time at which the grant lapses (in the future).
    /// @param requestId The pending access request this answers, or zero.
    /// @return grantId The new grant id.
    function createGrant(
        address patient,
        address grantee,
        uint8 scopeKind,
        bytes32[] calldata scopeData,
        bytes32 purpose,
        uint64 expiresAt,
        bytes32 requestId
    ) external returns (bytes32 grantId) {
        _checkOwner(patient);
        return _createGrant(patient, grantee, scopeKind, scopeData, purpose, expiresAt, requestId);
    }

    /// @notice Creates a grant on a signature of the patient's owner (relayed).
    /// @param patient The patient identity.
    /// @param grantee The grantee identity.
    /// @param scopeKind 0 = all, 1 = category tags, 2 = record-id Merkle root.
    /// @param scopeData The tags or the root.
    /// @param purpose The HL7 PurposeOfUse code as bytes32.
    /// @param expiresAt Chain time at which the grant lapses (in the future).
    /// @param requestId The pending access request this answers, or zero.
    /// @param nonce The patient's next nonce (`nonces(patient)`).
    /// @param deadline Last block time at which the signature is accepted.
    /// @param signature The owner's EIP-712 `Grant` signature (ECDSA or ERC-1271).
    /// @return grantId The new grant id.
    function createGrantSigned(
        address patient,
        address grantee,
        uint8 scopeKind,
        bytes32[] calldata scopeData,
        bytes32 purpose,
        uint64 expiresAt,
        bytes32 requestId,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 grantId) {
        bytes32 structHash = keccak256(
            abi.encode(
                GRANT_TYPEHASH,
                patient,
                grantee,
                scopeKind,
                keccak256(abi.encodePacked(scopeData)),
                purpose,
                expiresAt,
                requestId,
                nonce,
                deadline
            )
        );
        _checkSigned(patient, structHash, nonce, deadline, signature);
        return _createGrant(patient, grantee, scopeKind, scopeData, purpose, expiresAt, requestId);
    }

    /// @notice Revokes a grant, sent by the patient's current owner. Effective at once.
    /// @param grantId The grant.
    function revokeGrant(bytes32 grantId) external {
        _checkOwner(_grantPatient(grantId));
        _revokeGrant(grantId);
    }

    /// @notice Revokes a grant on a signature of the patient's owner (relayed).
    /// @param grantId The grant.
    /// @param nonce The patient's next nonce.
    /// @param deadline Last block time at which the signature is accepted.
    /// @param signature The owner's EIP-712 `Revoke` signature.
    function revokeGrantSigned(bytes32 grantId, uint256 nonce, uint256 deadline, bytes calldata signature) external {
        address patient = _grantPatient(grantId);
        _checkSigned(
            patient, keccak256(abi.encode(REVOKE_TYPEHASH, patient, grantId, nonce, deadline)), nonce, deadline, signature
        );
        _revokeGrant(grantId);
    }

    /// @notice Whether a grant exists, is not revoked and has not expired (chain time).
    /// @param grantId The grant.
    /// @return True if active.
    function isActive(bytes32 grantId) public view returns (bool) {
        Grant storage grant = _grants[grantId];
        return grant.patient != address(0) && !grant.revoked && block.timestamp < grant.expiresAt;
    }

    /// @notice A grant (reverts if unknown).
    /// @param grantId The grant.
    /// @return The stored grant.
    function getGrant(bytes32 grantId) external view returns (Grant memory) {
        _grantPatient(grantId);
        return _grants[grantId];
    }

    /// @notice Whether an active grant covers a record.
    /// @dev `All` covers everything; `Categories` covers a record whose tag is listed (so records
    ///      added later are covered too); `Records` covers a record id proven in the root.
    /// @param grantId The grant.
    /// @param recordId The record id.
    /// @param categoryTag The record's salted category tag.
    /// @param proof For `Records` scopes, the record id's sorted-pair Merkle proof (else ignored).
    /// @return True if the grant is active and covers the record.
    function covers(bytes32 grantId, bytes32 recordId, bytes32 categoryTag, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        if (!isActive(grantId)) return false;
        Grant storage grant = _grants[grantId];
        if (grant.scopeKind == ScopeKind.All) return true;
        bytes32[] storage scopeData = grant.scopeData;
        if (grant.scopeKind == ScopeKind.Categories) {
            for (uint256 i = 0; i < scopeData.length; i++) {
                if (scopeData[i] == categoryTag) return true;
            }
            return false;
        }
        return MerkleProof.verifyCalldata(proof, scopeData[0], recordIdLeaf(recordId));
    }

    /// @notice The leaf of a record id in a `Records` scope tree.
    /// @param recordId The record id.
    /// @return The leaf hash.
    function recordIdLeaf(bytes32 recordId) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(recordId))));
    }

    /// @notice How many grants a patient has created (the next grant id's sequence number).
    /// @param patient The patient identity.
    /// @return The count.
    function grantCount(address patient) external view returns (uint256) {
        return _grantCounts[patient];
    }

    // ------------------------------------------------------------------ access requests

    /// @notice Asks a patient for access, sent by the requester's current owner.
    /// @param requester The requesting identity (a provider's DID).
    /// @param patient The patient identity.
    /// @param scopeKind 0 = all, 1 = category tags, 2 = record-id Merkle root.
    /// @param scopeData The tags or the root.
    /// @param purpose The HL7 PurposeOfUse code as bytes32.
    /// @param expiresAt The expiry asked for (in the future).
    /// @return requestId The new request id.
    function requestAccess(
        address requester,
        address patient,
        uint8 scopeKind,
        bytes32[] calldata scopeData,
        bytes32 purpose,
        uint64 expiresAt
    ) external returns (bytes32 requestId) {
        _checkOwner(requester);
        return _requestAccess(requester, patient, scopeKind, scopeData, purpose, expiresAt);
    }

    /// @notice Asks a patient for access on a signature of the requester's owner (relayed).
    /// @param requester The requesting identity.
    /// @param patient The patient identity.
    /// @param scopeKind 0 = all, 1 = category tags, 2 = record-id Merkle root.
    /// @param scopeData The tags or the root.
    /// @param purpose The HL7 PurposeOfUse code as bytes32.
    /// @param expiresAt The expiry asked for (in the future).
    /// @param nonce The requester's next nonce.
    /// @param deadline Last block time at which the signature is accepted.
    /// @param signature The requester owner's EIP-712 `AccessRequest` signature.
    /// @return requestId The new request id.
    function requestAccessSigned(
        address requester,
        address patient,
        uint8 scopeKind,
        bytes32[] calldata scopeData,
        bytes32 purpose,
        uint64 expiresAt,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 requestId) {
        bytes32 structHash = keccak256(
            abi.encode(
                ACCESS_REQUEST_TYPEHASH,
                requester,
                patient,
                scopeKind,
                keccak256(abi.encodePacked(scopeData)),
                purpose,
                expiresAt,
                nonce,
                deadline
            )
        );
        _checkSigned(requester, structHash, nonce, deadline, signature);
        return _requestAccess(requester, patient, scopeKind, scopeData, purpose, expiresAt);
    }

    /// @notice Denies a pending access request, sent by the patient's current owner.
    /// @param requestId The request.
    function denyRequest(bytes32 requestId) external {
        _checkOwner(_requestPatient(requestId));
        _denyRequest(requestId);
    }

    /// @notice Denies a pending access request on a signature of the patient's owner (relayed).
    /// @param requestId The request.
    /// @param nonce The patient's next nonce.
    /// @param deadline Last block time at which the signature is accepted.
    /// @param signature The owner's EIP-712 `Deny` signature.
    function denyRequestSigned(bytes32 requestId, uint256 nonce, uint256 deadline, bytes calldata signature) external {
        address patient = _requestPatient(requestId);
        _checkSigned(
            patient, keccak256(abi.encode(DENY_TYPEHASH, patient, requestId, nonce, deadline)), nonce, deadline, signature
        );
        _denyRequest(requestId);
    }

    /// @notice An access request (reverts if unknown).
    /// @param requestId The request.
    /// @return The stored request.
    function getRequest(bytes32 requestId) external view returns (AccessRequest memory) {
        _requestPatient(requestId);
        return _requests[requestId];
    }

    // ------------------------------------------------------------------ common

    /// @notice The next EIP-712 nonce of an identity (shared by all its signed messages here).
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

    /// @notice The EIP-712 domain separator (name "Carekey ConsentRegistry", version "1").
    /// @return The separator for the current chain.
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _createGrant(
        address patient,
        address grantee,
        uint8 scopeKind,
        bytes32[] calldata scopeData,
        bytes32 purpose,
        uint64 expiresAt,
        bytes32 requestId
    ) private returns (bytes32 grantId) {
        if (grantee == address(0)) revert ConsentRegistryZeroGrantee();
        _checkTerms(scopeKind, scopeData, purpose, expiresAt);
        uint256 sequence = _grantCounts[patient];
        grantId = keccak256(abi.encode(patient, sequence));
        _grantCounts[patient] = sequence + 1;

        Grant storage grant = _grants[grantId];
        grant.patient = patient;
        grant.createdAt = uint64(block.timestamp);
        grant.scopeKind = ScopeKind(scopeKind);
        grant.grantee = grantee;
        grant.expiresAt = expiresAt;
        grant.purpose = purpose;
        grant.scopeData = scopeData;

        if (requestId != bytes32(0)) {
            grant.requestId = requestId;
            AccessRequest storage request = _requests[requestId];
            if (request.patient == address(0)) revert ConsentRegistryUnknownRequest(requestId);
            if (request.status != RequestStatus.Pending) revert ConsentRegistryRequestNotPending(requestId, request.status);
            if (request.patient != patient || request.requester != grantee) {
                revert ConsentRegistryRequestMismatch(requestId, request.patient, request.requester);
            }
            request.status = RequestStatus.Approved;
            request.grantId = grantId;
        }
        emit GrantCreated(grantId, patient, grantee, ScopeKind(scopeKind), scopeData, purpose, expiresAt, requestId);
        if (requestId != bytes32(0)) emit AccessRequestApproved(requestId, grantId);
    }

    function _revokeGrant(bytes32 grantId) private {
        Grant storage grant = _grants[grantId];
        if (grant.revoked) revert ConsentRegistryGrantAlreadyRevoked(grantId);
        grant.revoked = true;
        emit GrantRevoked(grantId, grant.patient, grant.grantee);
    }

    function _requestAccess(
        address requester,
        address patient,
        uint8 scopeKind,
        bytes32[] calldata scopeData,
        bytes32 purpose,
        uint64 expiresAt
    ) private returns (bytes32 requestId) {
        if (patient == address(0)) revert ConsentRegistryZeroPatient();
        _checkTerms(scopeKind, scopeData, purpose, expiresAt);
        uint256 sequence = _requestCounts[requester];
        // Domain-separated from grant ids, which hash (address, uint256) too.
        requestId = keccak256(abi.encode(keccak256("carekey.request"), requester, sequence));
        _requestCounts[requester] = sequence + 1;

        AccessRequest storage request = _requests[requestId];
        request.patient = patient;
        request.scopeKind = ScopeKind(scopeKind);
        request.status = RequestStatus.Pending;
        request.requester = requester;
        request.expiresAt = expiresAt;
        request.purpose = purpose;
        request.scopeData = scopeData;
        emit AccessRequested(requestId, patient, requester, ScopeKind(scopeKind), scopeData, purpose, expiresAt);
    }

    function _denyRequest(bytes32 requestId) private {
        AccessRequest storage request = _requests[requestId];
        if (request.status != RequestStatus.Pending) revert ConsentRegistryRequestNotPending(requestId, request.status);
        request.status = RequestStatus.Denied;
        emit AccessRequestDenied(requestId, request.patient);
    }

    function _checkTerms(uint8 scopeKind, bytes32[] calldata scopeData, bytes32 purpose, uint64 expiresAt) private view {
        uint256 length = scopeData.length;
        bool validScope = (scopeKind == uint8(ScopeKind.All) && length == 0)
            || (scopeKind == uint8(ScopeKind.Categories) && length > 0 && length <= MAX_SCOPE_ITEMS)
            || (scopeKind == uint8(ScopeKind.Records) && length == 1 && scopeData[0] != bytes32(0));
        if (!validScope) revert ConsentRegistryInvalidScope(scopeKind, length);
        if (purpose == bytes32(0)) revert ConsentRegistryZeroPurpose();
        if (expiresAt <= block.timestamp) revert ConsentRegistryExpiryInPast(expiresAt, block.timestamp);
    }

    function _grantPatient(bytes32 grantId) private view returns (address patient) {
        patient = _grants[grantId].patient;
        if (patient == address(0)) revert ConsentRegistryUnknownGrant(grantId);
    }

    function _requestPatient(bytes32 requestId) private view returns (address patient) {
        patient = _requests[requestId].patient;
        if (patient == address(0)) revert ConsentRegistryUnknownRequest(requestId);
    }

    function _checkOwner(address identity) private view {
        address owner = _identityRegistry.identityOwner(identity);
        if (msg.sender != owner) revert ConsentRegistryNotIdentityOwner(identity, msg.sender, owner);
    }

    function _checkSigned(address identity, bytes32 structHash, uint256 nonce, uint256 deadline, bytes calldata signature)
        private
    {
        if (block.timestamp > deadline) revert ConsentRegistrySignatureExpired(deadline, block.timestamp);
        uint256 expected = _nonces[identity];
        if (nonce != expected) revert ConsentRegistryInvalidNonce(identity, expected, nonce);
        address owner = _identityRegistry.identityOwner(identity);
        if (!_isOwnerSignature(owner, _hashTypedDataV4(structHash), signature)) {
            revert ConsentRegistryInvalidSignature(identity, owner);
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
