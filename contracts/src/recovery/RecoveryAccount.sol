// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title RecoveryAccount
/// @notice The ERC-1056 owner of one patient identity that has social recovery on. It acts for the
///         patient's current key (the *controller*): every Carekey contract accepts the controller's
///         EIP-712 signatures through ERC-1271 `isValidSignature`, and the controller drives the DID
///         registry through `execute`/`executeSigned`. Only the `Recovery` contract (after k guardian
///         approvals and a delay) or the controller itself can change the controller: a stolen key
///         replaced this way is powerless everywhere, with nothing to migrate.
/// @dev Deployed as an ERC-1167 clone per identity by `Recovery`; the EIP-712 domain
///      ("Carekey RecoveryAccount", "1") uses the clone's address.
contract RecoveryAccount is IERC1271, EIP712 {
    /// @notice EIP-712 type of a relayed call made by the controller.
    bytes32 public constant EXECUTE_TYPEHASH =
        keccak256("Execute(address target,bytes data,uint256 nonce,uint256 deadline)");

    address private _recovery;
    address private _identity;
    address private _controller;
    uint256 private _nonce;

    /// @notice The account was already initialised.
    error RecoveryAccountAlreadyInitialized();
    /// @notice The caller may not do this.
    /// @param caller The caller.
    error RecoveryAccountUnauthorized(address caller);
    /// @notice A zero controller was given.
    error RecoveryAccountZeroController();
    /// @notice The relayed call's deadline passed.
    /// @param deadline The deadline.
    /// @param timestamp The block time.
    error RecoveryAccountSignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The relayed call's nonce is not the next one.
    /// @param expected The next nonce.
    /// @param provided The nonce signed.
    error RecoveryAccountInvalidNonce(uint256 expected, uint256 provided);
    /// @notice The relayed call is not signed by the controller.
    /// @param controller The current controller.
    error RecoveryAccountInvalidSignature(address controller);
    /// @notice The call made for the controller reverted without a reason.
    /// @param target The contract called.
    error RecoveryAccountCallFailed(address target);

    /// @notice The key acting for the identity changed.
    /// @param identity The patient identity.
    /// @param previousController The key replaced.
    /// @param newController The key now in control.
    event ControllerChanged(address indexed identity, address indexed previousController, address indexed newController);
    /// @notice The account made a call for its controller.
    /// @param target The contract called.
    /// @param selector The function selector called.
    event Executed(address indexed target, bytes4 selector);

    constructor() EIP712("Carekey RecoveryAccount", "1") {
        // The implementation itself is never used: lock it.
        _recovery = address(1);
    }

    /// @notice Sets up a fresh clone. Called once by `Recovery` in the transaction that deploys it.
    /// @param identity_ The patient identity this account owns in the DID registry.
    /// @param controller_ The patient's current key.
    function initialize(address identity_, address controller_) external {
        if (_recovery != address(0)) revert RecoveryAccountAlreadyInitialized();
        if (controller_ == address(0)) revert RecoveryAccountZeroController();
        _recovery = msg.sender;
        _identity = identity_;
        _controller = controller_;
        emit ControllerChanged(identity_, address(0), controller_);
    }

    /// @notice ERC-1271: a digest is signed for the identity when the controller signed it.
    /// @param digest The digest signed.
    /// @param signature A 65-byte ECDSA signature.
    /// @return magic `0x1626ba7e` when valid, `0xffffffff` otherwise.
    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4 magic) {
        (address recovered, ECDSA.RecoverError error_,) = ECDSA.tryRecover(digest, signature);
        return error_ == ECDSA.RecoverError.NoError && recovered == _controller && recovered != address(0)
            ? IERC1271.isValidSignature.selector
            : bytes4(0xffffffff);
    }

    /// @notice Calls `target` for the controller (e.g. `setAttribute` on the DID registry).
    /// @param target The contract to call.
    /// @param data The call data.
    /// @return result The call's return data.
    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != _controller) revert RecoveryAccountUnauthorized(msg.sender);
        return _call(target, data);
    }

    /// @notice Calls `target` for the controller on a relayed EIP-712 `Execute` signature (the
    ///         relayer pays the gas).
    /// @param target The contract to call.
    /// @param data The call data.
    /// @param nonce_ The account's next nonce (`nonce()`).
    /// @param deadline Last block time the signature is valid.
    /// @param signature The controller's signature.
    /// @return result The call's return data.
    function executeSigned(address target, bytes calldata data, uint256 nonce_, uint256 deadline, bytes calldata signature)
        external
        returns (bytes memory result)
    {
        if (block.timestamp > deadline) revert RecoveryAccountSignatureExpired(deadline, block.timestamp);
        if (nonce_ != _nonce) revert RecoveryAccountInvalidNonce(_nonce, nonce_);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(EXECUTE_TYPEHASH, target, keccak256(data), nonce_, deadline)));
        (address recovered, ECDSA.RecoverError error_,) = ECDSA.tryRecover(digest, signature);
        if (error_ != ECDSA.RecoverError.NoError || recovered != _controller) {
            revert RecoveryAccountInvalidSignature(_controller);
        }
        _nonce = nonce_ + 1;
        return _call(target, data);
    }

    /// @notice Replaces the controller. Only `Recovery` (after guardian approvals and the delay)
    ///         or the account itself (the controller rotating its own key via `execute`).
    /// @param newController The new key.
    function setController(address newController) external {
        if (msg.sender != _recovery && msg.sender != address(this)) revert RecoveryAccountUnauthorized(msg.sender);
        if (newController == address(0)) revert RecoveryAccountZeroController();
        address previous = _controller;
        _controller = newController;
        emit ControllerChanged(_identity, previous, newController);
    }

    /// @notice The key acting for the identity now.
    /// @return The controller.
    function controller() external view returns (address) {
        return _controller;
    }

    /// @notice The identity this account owns.
    /// @return The identity.
    function identity() external view returns (address) {
        return _identity;
    }

    /// @notice The `Recovery` contract that deployed this account.
    /// @return The recovery contract.
    function recovery() external view returns (address) {
        return _recovery;
    }

    /// @notice The next nonce of `executeSigned`.
    /// @return The nonce to sign.
    function nonce() external view returns (uint256) {
        return _nonce;
    }

    /// @notice The EIP-712 domain separator of this account.
    /// @return The separator.
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _call(address target, bytes calldata data) private returns (bytes memory result) {
        bool ok;
        (ok, result) = target.call(data);
        if (!ok) {
            if (result.length == 0) revert RecoveryAccountCallFailed(target);
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
        emit Executed(target, data.length >= 4 ? bytes4(data[:4]) : bytes4(0));
    }
}
