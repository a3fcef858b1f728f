// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IIdentityRegistry} from "./identity/IIdentityRegistry.sol";

/// @title TrustedIssuers
/// @notice The list of credential issuers (licensing boards, hospitals) whose SD-JWT credentials
///         verifiers accept. An issuer is added or removed only when `threshold` of the `n`
///         governors approved that change (an m-of-n multisig role).
/// @dev Issuers and governors are ERC-1056 identities: a governor approves as the identity's
///      current `identityOwner` (directly, or through an EIP-712 `Approval` relayed by anyone), so a
///      rotated governor key takes effect here at once; an issuer's credentials are verified against
///      its current owner key off chain. A change is keyed by `(action, issuer, epoch(issuer))`; the
///      epoch moves on every applied change, so approvals gathered for an older state never count.
///      The governor set and threshold are fixed at deployment.
contract TrustedIssuers is EIP712 {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice What a governor approves.
    enum Action {
        Add,
        Remove
    }

    /// @notice EIP-712 type of a relayed approval.
    bytes32 public constant APPROVAL_TYPEHASH = keccak256(
        "Approval(address governor,uint8 action,address issuer,uint64 epoch,uint256 nonce,uint256 deadline)"
    );

    IIdentityRegistry private immutable _identityRegistry;
    uint256 private immutable _threshold;

    EnumerableSet.AddressSet private _governors;
    EnumerableSet.AddressSet private _issuers;
    mapping(address issuer => uint64) private _epochs;
    mapping(bytes32 changeId => uint256) private _approvalCounts;
    mapping(bytes32 changeId => mapping(address governor => bool)) private _approved;
    mapping(address governor => uint256) private _nonces;

    /// @notice The threshold is zero or larger than the number of governors.
    /// @param threshold The threshold given.
    /// @param governors The number of governors given.
    error TrustedIssuersInvalidThreshold(uint256 threshold, uint256 governors);
    /// @notice A governor is listed twice or is the zero address.
    /// @param governor The offending entry.
    error TrustedIssuersInvalidGovernor(address governor);
    /// @notice The identity is not a governor.
    /// @param identity The identity that tried to approve.
    error TrustedIssuersNotGovernor(address identity);
    /// @notice The caller is not the current ERC-1056 owner of the governor identity.
    /// @param governor The governor identity acted for.
    /// @param caller The caller.
    /// @param owner The identity's current owner.
    error TrustedIssuersNotIdentityOwner(address governor, address caller, address owner);
    /// @notice The issuer must not be the zero address.
    error TrustedIssuersZeroIssuer();
    /// @notice The action is neither Add (0) nor Remove (1).
    /// @param action The action given.
    error TrustedIssuersInvalidAction(uint8 action);
    /// @notice Adding an issuer that is already trusted.
    /// @param issuer The issuer.
    error TrustedIssuersAlreadyTrusted(address issuer);
    /// @notice Removing an issuer that is not trusted.
    /// @param issuer The issuer.
    error TrustedIssuersNotTrusted(address issuer);
    /// @notice This governor already approved this change (a replayed approval).
    /// @param governor The governor.
    /// @param action The action.
    /// @param issuer The issuer.
    /// @param epoch The issuer's epoch the approval is for.
    error TrustedIssuersAlreadyApproved(address governor, Action action, address issuer, uint64 epoch);
    /// @notice The signed approval is for another epoch than the issuer's current one (stale).
    /// @param issuer The issuer.
    /// @param expected The current epoch.
    /// @param provided The signed epoch.
    error TrustedIssuersStaleEpoch(address issuer, uint64 expected, uint64 provided);
    /// @notice The signed message's deadline has passed.
    /// @param deadline The signed deadline.
    /// @param timestamp The current block time.
    error TrustedIssuersSignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signed nonce is not the governor's next nonce (replayed or out of order).
    /// @param governor The governor.
    /// @param expected The next nonce.
    /// @param provided The signed nonce.
    error TrustedIssuersInvalidNonce(address governor, uint256 expected, uint256 provided);
    /// @notice The signature is not the governor owner's over this message, domain and chain.
    /// @param governor The governor identity.
    /// @param owner The identity's current owner, who must sign.
    error TrustedIssuersInvalidSignature(address governor, address owner);

    /// @notice A governor approved a change.
    /// @param governor The governor identity.
    /// @param action Add or Remove.
    /// @param issuer The issuer identity.
    /// @param epoch The issuer's epoch the approval counts in.
    /// @param approvals Approvals gathered for this change so far.
    event IssuerChangeApproved(
        address indexed governor, Action indexed action, address indexed issuer, uint64 epoch, uint256 approvals
    );
    /// @notice An issuer became trusted (threshold reached).
    /// @param issuer The issuer identity.
    event IssuerAdded(address indexed issuer);
    /// @notice An issuer stopped being trusted (threshold reached).
    /// @param issuer The issuer identity.
    event IssuerRemoved(address indexed issuer);

    /// @param identityRegistry_ The ERC-1056 registry authorising governors.
    /// @param governors_ The governor identities (distinct, non-zero).
    /// @param threshold_ Approvals needed for a change (1..governors).
    constructor(IIdentityRegistry identityRegistry_, address[] memory governors_, uint256 threshold_)
        EIP712("Carekey TrustedIssuers", "1")
    {
        if (threshold_ == 0 || threshold_ > governors_.length) {
            revert TrustedIssuersInvalidThreshold(threshold_, governors_.length);
        }
        for (uint256 i = 0; i < governors_.length; i++) {
            address governor = governors_[i];
            if (governor == address(0) || !_governors.add(governor)) revert TrustedIssuersInvalidGovernor(governor);
        }
        _identityRegistry = identityRegistry_;
        _threshold = threshold_;
    }

    /// @notice Approves adding or removing an issuer, sent by the governor identity's current owner.
    ///         The approval that reaches the threshold applies the change.
    /// @param governor The governor identity.
    /// @param action 0 = add, 1 = remove.
    /// @param issuer The issuer identity.
    /// @return applied Whether this approval applied the change.
    function approve(address governor, uint8 action, address issuer) external returns (bool applied) {
        address owner = _identityRegistry.identityOwner(governor);
        if (msg.sender != owner) revert TrustedIssuersNotIdentityOwner(governor, msg.sender, owner);
        return _approve(governor, action, issuer);
    }

    /// @notice Approves a change with the governor owner's EIP-712 `Approval` signature, relayed by anyone.
    /// @param governor The governor identity.
    /// @param action 0 = add, 1 = remove.
    /// @param issuer The issuer identity.
    /// @param epoch_ The issuer's current epoch (`epoch(issuer)`).
    /// @param nonce The governor's next nonce (`nonces(governor)`).
    /// @param deadline Chain time after which the signature is void.
    /// @param signature ECDSA (or ERC-1271) signature of the governor identity's owner.
    /// @return applied Whether this approval applied the change.
    function approveSigned(
        address governor,
        uint8 action,
        address issuer,
        uint64 epoch_,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bool applied) {
        if (block.timestamp > deadline) revert TrustedIssuersSignatureExpired(deadline, block.timestamp);
        if (epoch_ != _epochs[issuer]) revert TrustedIssuersStaleEpoch(issuer, _epochs[issuer], epoch_);
        _checkSigned(
            governor,
            keccak256(abi.encode(APPROVAL_TYPEHASH, governor, action, issuer, epoch_, nonce, deadline)),
            nonce,
            signature
        );
        return _approve(governor, action, issuer);
    }

    /// @notice Whether `issuer` is trusted now.
    /// @param issuer The issuer identity.
    /// @return Whether its credentials are accepted.
    function isTrusted(address issuer) external view returns (bool) {
        return _issuers.contains(issuer);
    }

    /// @notice Every trusted issuer (unordered).
    /// @return The issuer identities.
    function trustedIssuers() external view returns (address[] memory) {
        return _issuers.values();
    }

    /// @notice Whether `identity` is a governor.
    /// @param identity The identity.
    /// @return Whether it may approve changes.
    function isGovernor(address identity) external view returns (bool) {
        return _governors.contains(identity);
    }

    /// @notice The governor identities.
    /// @return The governors, in deployment order.
    function governors() external view returns (address[] memory) {
        return _governors.values();
    }

    /// @notice Approvals a change needs.
    /// @return The threshold m of the m-of-n governors.
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @notice The issuer's epoch: how many changes were applied to it.
    /// @param issuer The issuer identity.
    /// @return The epoch signed approvals must name.
    function epoch(address issuer) external view returns (uint64) {
        return _epochs[issuer];
    }

    /// @notice Approvals gathered for a change in the issuer's current epoch.
    /// @param action 0 = add, 1 = remove.
    /// @param issuer The issuer identity.
    /// @return The number of distinct governors who approved.
    function approvals(uint8 action, address issuer) external view returns (uint256) {
        return _approvalCounts[_changeId(action, issuer, _epochs[issuer])];
    }

    /// @notice Whether a governor approved a change in the issuer's current epoch.
    /// @param governor The governor identity.
    /// @param action 0 = add, 1 = remove.
    /// @param issuer The issuer identity.
    /// @return Whether it did.
    function hasApproved(address governor, uint8 action, address issuer) external view returns (bool) {
        return _approved[_changeId(action, issuer, _epochs[issuer])][governor];
    }

    /// @notice The governor's next signature nonce.
    /// @param governor The governor identity.
    /// @return The nonce the next `Approval` must carry.
    function nonces(address governor) external view returns (uint256) {
        return _nonces[governor];
    }

    function _approve(address governor, uint8 action, address issuer) private returns (bool applied) {
        if (action > uint8(Action.Remove)) revert TrustedIssuersInvalidAction(action);
        if (!_governors.contains(governor)) revert TrustedIssuersNotGovernor(governor);
        if (issuer == address(0)) revert TrustedIssuersZeroIssuer();
        bool trusted = _issuers.contains(issuer);
        if (action == uint8(Action.Add) && trusted) revert TrustedIssuersAlreadyTrusted(issuer);
        if (action == uint8(Action.Remove) && !trusted) revert TrustedIssuersNotTrusted(issuer);
        uint64 epoch_ = _epochs[issuer];
        bytes32 changeId = _changeId(action, issuer, epoch_);
        if (_approved[changeId][governor]) {
            revert TrustedIssuersAlreadyApproved(governor, Action(action), issuer, epoch_);
        }
        _approved[changeId][governor] = true;
        uint256 count = _approvalCounts[changeId] + 1;
        _approvalCounts[changeId] = count;
        emit IssuerChangeApproved(governor, Action(action), issuer, epoch_, count);
        if (count < _threshold) return false;
        _epochs[issuer] = epoch_ + 1;
        if (action == uint8(Action.Add)) {
            _issuers.add(issuer);
            emit IssuerAdded(issuer);
        } else {
            _issuers.remove(issuer);
            emit IssuerRemoved(issuer);
        }
        return true;
    }

    function _checkSigned(address governor, bytes32 structHash, uint256 nonce, bytes calldata signature) private {
        uint256 expected = _nonces[governor];
        if (nonce != expected) revert TrustedIssuersInvalidNonce(governor, expected, nonce);
        bytes32 digest = _hashTypedDataV4(structHash);
        address owner = _identityRegistry.identityOwner(governor);
        (address recovered, ECDSA.RecoverError error_,) = ECDSA.tryRecover(digest, signature);
        bool valid = (error_ == ECDSA.RecoverError.NoError && recovered == owner)
            || (owner.code.length > 0 && SignatureChecker.isValidERC1271SignatureNow(owner, digest, signature));
        if (!valid) revert TrustedIssuersInvalidSignature(governor, owner);
        _nonces[governor] = expected + 1;
    }

    function _changeId(uint8 action, address issuer, uint64 epoch_) private pure returns (bytes32) {
        return keccak256(abi.encode(action, issuer, epoch_));
    }
}
