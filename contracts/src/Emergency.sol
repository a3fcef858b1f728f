// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IIdentityRegistry} from "./identity/IIdentityRegistry.sol";

/// @title Emergency
/// @notice Patients' break-glass policies (off / summary / all) and one public `BreakGlass` event per emergency
///         access, so every use is on the ledger the patient and reviewers read.
/// @dev Patients and clinicians are ERC-1056 identities acting through their current `identityOwner` (directly or
///      through a relayed EIP-712 signature), so a rotated key takes effect here at once. A break-glass is recorded
///      only by the `operator` (the node that checked the clinician's credential off chain, which the chain cannot
///      do) and only with the clinician owner's signature over it; the chain enforces the patient's policy, the
///      scope, the 24 h limit and one use per access id. Nothing here is health data: addresses, a policy number,
///      random access ids and times (the clinician's reason stays in the node's access log).
contract Emergency is EIP712 {
    /// @notice What a patient allows in an emergency.
    enum Policy {
        Off,
        Summary,
        All
    }

    /// @notice The longest a break-glass access may last (THREAT-MODEL R-3: time-boxed, at most 24 h).
    uint64 public constant MAX_ACCESS_DURATION = 24 hours;

    /// @notice EIP-712 type of a relayed policy change, signed by the patient's owner.
    bytes32 public constant POLICY_TYPEHASH =
        keccak256("PolicyChange(address patient,uint8 policy,uint256 nonce,uint256 deadline)");

    /// @notice EIP-712 type of a break-glass, signed by the clinician's owner.
    bytes32 public constant BREAK_GLASS_TYPEHASH = keccak256(
        "BreakGlass(address clinician,address patient,uint8 scope,bytes32 accessId,uint64 expiresAt,uint256 deadline)"
    );

    IIdentityRegistry private immutable _identityRegistry;
    address private immutable _operator;

    mapping(address patient => Policy) private _policies;
    mapping(address patient => uint256) private _nonces;
    mapping(bytes32 accessId => bool) private _usedAccessIds;

    /// @notice The operator must not be the zero address.
    error EmergencyZeroOperator();
    /// @notice The policy or scope number is not Off (0), Summary (1) or All (2).
    /// @param value The number given.
    error EmergencyInvalidPolicy(uint8 value);
    /// @notice The caller is not the current ERC-1056 owner of the patient identity.
    /// @param patient The patient identity acted for.
    /// @param caller The caller.
    /// @param owner The identity's current owner.
    error EmergencyNotIdentityOwner(address patient, address caller, address owner);
    /// @notice The signed message's deadline has passed.
    /// @param deadline The signed deadline.
    /// @param timestamp The current block time.
    error EmergencySignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signed nonce is not the patient's next nonce (replayed or out of order).
    /// @param patient The patient identity.
    /// @param expected The next nonce.
    /// @param provided The signed nonce.
    error EmergencyInvalidNonce(address patient, uint256 expected, uint256 provided);
    /// @notice The signature is not the identity owner's over this message, domain and chain.
    /// @param identity The identity that should have signed.
    /// @param owner The identity's current owner, who must sign.
    error EmergencyInvalidSignature(address identity, address owner);
    /// @notice Only the operator (the node that checks credentials) records a break-glass.
    /// @param caller The caller.
    error EmergencyNotOperator(address caller);
    /// @notice The patient's policy does not allow this scope (Off allows nothing, Summary only the summary).
    /// @param patient The patient identity.
    /// @param policy The patient's policy.
    /// @param scope The scope asked for.
    error EmergencyNotAllowed(address patient, Policy policy, Policy scope);
    /// @notice This access id was already recorded (a replayed break-glass).
    /// @param accessId The access id.
    error EmergencyAccessIdUsed(bytes32 accessId);
    /// @notice The access id must not be zero.
    error EmergencyZeroAccessId();
    /// @notice The access must end after now and at most `MAX_ACCESS_DURATION` from now.
    /// @param expiresAt The end asked for.
    /// @param timestamp The current block time.
    error EmergencyInvalidExpiry(uint64 expiresAt, uint256 timestamp);
    /// @notice A patient does not break the glass on their own records.
    /// @param identity The identity named as both.
    error EmergencySelfAccess(address identity);

    /// @notice A patient's policy changed.
    /// @param patient The patient identity.
    /// @param policy The new policy.
    event PolicyChanged(address indexed patient, Policy policy);
    /// @notice A clinician broke the glass on a patient's records.
    /// @param patient The patient identity (already public as a grantor in ConsentRegistry).
    /// @param clinician The clinician identity.
    /// @param accessId The access's random id (the node's access-log and notification rows name it).
    /// @param scope Summary or All.
    /// @param expiresAt Chain time the access ends.
    event BreakGlass(
        address indexed patient, address indexed clinician, bytes32 indexed accessId, Policy scope, uint64 expiresAt
    );

    /// @param identityRegistry_ The ERC-1056 registry authorising patients and clinicians.
    /// @param operator_ The node account allowed to record break-glass uses after its credential check.
    constructor(IIdentityRegistry identityRegistry_, address operator_) EIP712("Carekey Emergency", "1") {
        if (operator_ == address(0)) revert EmergencyZeroOperator();
        _identityRegistry = identityRegistry_;
        _operator = operator_;
    }

    /// @notice Sets the patient's policy, sent by the patient identity's current owner.
    /// @param patient The patient identity.
    /// @param policy 0 = off, 1 = summary, 2 = all.
    function setPolicy(address patient, uint8 policy) external {
        address owner = _identityRegistry.identityOwner(patient);
        if (msg.sender != owner) revert EmergencyNotIdentityOwner(patient, msg.sender, owner);
        _setPolicy(patient, policy);
    }

    /// @notice Sets the patient's policy with the owner's EIP-712 `PolicyChange` signature, relayed by anyone.
    /// @param patient The patient identity.
    /// @param policy 0 = off, 1 = summary, 2 = all.
    /// @param nonce The patient's next nonce (`nonces(patient)`).
    /// @param deadline Chain time after which the signature is void.
    /// @param signature ECDSA (or ERC-1271) signature of the patient identity's owner.
    function setPolicySigned(address patient, uint8 policy, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
    {
        if (block.timestamp > deadline) revert EmergencySignatureExpired(deadline, block.timestamp);
        uint256 expected = _nonces[patient];
        if (nonce != expected) revert EmergencyInvalidNonce(patient, expected, nonce);
        _checkSignature(
            patient, keccak256(abi.encode(POLICY_TYPEHASH, patient, policy, nonce, deadline)), signature
        );
        _nonces[patient] = expected + 1;
        _setPolicy(patient, policy);
    }

    /// @notice Records a break-glass: the operator relays the clinician owner's EIP-712 `BreakGlass` signature after
    ///         checking the clinician's credential off chain.
    /// @param clinician The clinician identity.
    /// @param patient The patient identity.
    /// @param scope 1 = summary, 2 = all (must be allowed by the patient's policy).
    /// @param accessId Random, unique id of this access.
    /// @param expiresAt Chain time the access ends (after now, at most 24 h from now).
    /// @param deadline Chain time after which the signature is void.
    /// @param signature ECDSA (or ERC-1271) signature of the clinician identity's owner.
    function recordBreakGlass(
        address clinician,
        address patient,
        uint8 scope,
        bytes32 accessId,
        uint64 expiresAt,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (msg.sender != _operator) revert EmergencyNotOperator(msg.sender);
        if (block.timestamp > deadline) revert EmergencySignatureExpired(deadline, block.timestamp);
        if (clinician == patient) revert EmergencySelfAccess(patient);
        if (scope > uint8(Policy.All)) revert EmergencyInvalidPolicy(scope);
        Policy policy = _policies[patient];
        if (scope == uint8(Policy.Off) || uint8(policy) < scope) {
            revert EmergencyNotAllowed(patient, policy, Policy(scope));
        }
        if (accessId == bytes32(0)) revert EmergencyZeroAccessId();
        if (_usedAccessIds[accessId]) revert EmergencyAccessIdUsed(accessId);
        if (expiresAt <= block.timestamp || expiresAt > block.timestamp + MAX_ACCESS_DURATION) {
            revert EmergencyInvalidExpiry(expiresAt, block.timestamp);
        }
        _checkSignature(
            clinician,
            keccak256(abi.encode(BREAK_GLASS_TYPEHASH, clinician, patient, scope, accessId, expiresAt, deadline)),
            signature
        );
        _usedAccessIds[accessId] = true;
        emit BreakGlass(patient, clinician, accessId, Policy(scope), expiresAt);
    }

    /// @notice The patient's policy now.
    /// @param patient The patient identity.
    /// @return The policy (Off for anyone who never set one).
    function policyOf(address patient) external view returns (Policy) {
        return _policies[patient];
    }

    /// @notice The patient's next signature nonce.
    /// @param patient The patient identity.
    /// @return The nonce the next `PolicyChange` must carry.
    function nonces(address patient) external view returns (uint256) {
        return _nonces[patient];
    }

    /// @notice Whether an access id was recorded.
    /// @param accessId The access id.
    /// @return Whether a `BreakGlass` with it was emitted.
    function isAccessIdUsed(bytes32 accessId) external view returns (bool) {
        return _usedAccessIds[accessId];
    }

    /// @notice The account that records break-glass uses.
    /// @return The operator (the node's relayer).
    function operator() external view returns (address) {
        return _operator;
    }

    /// @notice The EIP-712 domain separator of this contract on this chain.
    /// @return The separator signers hash into their messages.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _setPolicy(address patient, uint8 policy) private {
        if (policy > uint8(Policy.All)) revert EmergencyInvalidPolicy(policy);
        _policies[patient] = Policy(policy);
        emit PolicyChanged(patient, Policy(policy));
    }

    function _checkSignature(address identity, bytes32 structHash, bytes calldata signature) private view {
        bytes32 digest = _hashTypedDataV4(structHash);
        address owner = _identityRegistry.identityOwner(identity);
        (address recovered, ECDSA.RecoverError error_,) = ECDSA.tryRecover(digest, signature);
        bool valid = (error_ == ECDSA.RecoverError.NoError && recovered == owner)
            || (owner.code.length > 0 && SignatureChecker.isValidERC1271SignatureNow(owner, digest, signature));
        if (!valid) revert EmergencyInvalidSignature(identity, owner);
    }
}
