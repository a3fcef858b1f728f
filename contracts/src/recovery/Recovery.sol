// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {RecoveryAccount} from "./RecoveryAccount.sol";

/// @notice The part of ERC-1056 `Recovery` uses.
interface IDIDOwnerRegistry {
    function identityOwner(address identity) external view returns (address);
    function changeOwnerSigned(address identity, uint8 sigV, bytes32 sigR, bytes32 sigS, address newOwner) external;
}

/// @title Recovery
/// @notice Social recovery of a patient identity (THREAT-MODEL T-17): the patient names guardians
///         (identities) and a threshold k; when the patient's key is lost or stolen, k guardians
///         approve a new key, a delay runs during which the current key can cancel, then anyone
///         executes the change. The identity's ERC-1056 owner is a per-identity `RecoveryAccount`
///         whose controller is the patient's key, so the change takes effect in every contract at
///         once through `identityOwner` (and ERC-1271), and the old key is powerless.
/// @dev Guardians are identities: their approvals are by their current `identityOwner`, directly or
///      by a relayed EIP-712 signature. Approvals count per *round*; a cancellation or an executed
///      recovery opens a new round, so an approval cannot be replayed. The contract also anchors the
///      patient's Shamir share set (`shareSetRoot`, `shareEpoch`) so a share of another or an older
///      set is refused off chain (T-18). Nothing here names a health fact; guardians are addresses.
contract Recovery is EIP712 {
    /// @notice EIP-712 type: the patient turns recovery on (signed by the identity's owner).
    bytes32 public constant ENABLE_TYPEHASH = keccak256(
        "Enable(address identity,address controller,bytes32 guardiansHash,uint8 threshold,uint64 delay,bytes32 shareSetRoot,uint32 shareEpoch,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type: the patient changes guardians, threshold, delay or share set.
    bytes32 public constant CONFIGURE_TYPEHASH = keccak256(
        "Configure(address identity,bytes32 guardiansHash,uint8 threshold,uint64 delay,bytes32 shareSetRoot,uint32 shareEpoch,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type: a guardian approves a new key for the identity in this round.
    bytes32 public constant APPROVE_TYPEHASH = keccak256(
        "Approve(address identity,address guardian,address newController,uint64 round,uint256 deadline)"
    );
    /// @notice EIP-712 type: the patient's current key cancels the recovery under way.
    bytes32 public constant CANCEL_TYPEHASH = keccak256("Cancel(address identity,uint64 round,uint256 deadline)");

    /// @notice Most guardians one identity may have.
    uint256 public constant MAX_GUARDIANS = 16;
    /// @notice Longest delay a patient may set.
    uint64 public constant MAX_DELAY = 365 days;

    /// @notice What the patient chooses: guardians, threshold, delay and the anchored share set.
    struct Settings {
        address[] guardians;
        uint8 threshold;
        uint64 delay;
        bytes32 shareSetRoot;
        uint32 shareEpoch;
    }

    struct Config {
        RecoveryAccount account;
        uint8 threshold;
        uint64 delay;
        uint64 round;
        uint32 shareEpoch;
        bytes32 shareSetRoot;
        address[] guardians;
    }

    struct Proposal {
        address newController;
        uint8 approvals;
        uint64 readyAt;
    }

    IDIDOwnerRegistry private immutable _didRegistry;
    address private immutable _accountImplementation;

    mapping(address identity => Config) private _configs;
    mapping(address identity => Proposal) private _proposals;
    mapping(address identity => mapping(uint64 round => mapping(address guardian => bool))) private _approved;
    mapping(address identity => uint256) private _nonces;

    /// @notice Recovery is already on for this identity.
    /// @param identity The identity.
    error RecoveryAlreadyEnabled(address identity);
    /// @notice Recovery is not on for this identity.
    /// @param identity The identity.
    error RecoveryNotEnabled(address identity);
    /// @notice The signature is not by the expected signer.
    /// @param signer The identity owner or controller expected.
    error RecoveryInvalidSignature(address signer);
    /// @notice The signature's deadline passed.
    /// @param deadline The deadline.
    /// @param timestamp The block time.
    error RecoverySignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The nonce is not the identity's next one.
    /// @param expected The next nonce.
    /// @param provided The nonce signed.
    error RecoveryInvalidNonce(uint256 expected, uint256 provided);
    /// @notice Guardians, threshold or delay are not acceptable.
    /// @param reason What is wrong.
    error RecoveryInvalidConfig(string reason);
    /// @notice The caller or signer is not a guardian of the identity.
    /// @param identity The identity.
    /// @param guardian The would-be guardian.
    error RecoveryNotGuardian(address identity, address guardian);
    /// @notice The caller is not the guardian's current owner.
    /// @param guardian The guardian identity.
    /// @param caller The caller.
    error RecoveryNotGuardianOwner(address guardian, address caller);
    /// @notice The guardian already approved in this round.
    /// @param identity The identity.
    /// @param guardian The guardian.
    /// @param round The round.
    error RecoveryAlreadyApproved(address identity, address guardian, uint64 round);
    /// @notice The approval names another round than the current one (replayed or stale).
    /// @param expected The current round.
    /// @param provided The round signed.
    error RecoveryWrongRound(uint64 expected, uint64 provided);
    /// @notice The approval names another key than the one under approval in this round.
    /// @param proposed The key under approval.
    /// @param provided The key approved.
    error RecoveryProposalMismatch(address proposed, address provided);
    /// @notice The new key is zero or already the controller.
    /// @param newController The key given.
    error RecoveryInvalidController(address newController);
    /// @notice No recovery is under way.
    /// @param identity The identity.
    error RecoveryNothingPending(address identity);
    /// @notice The delay has not passed (or the threshold was not reached).
    /// @param readyAt When it can execute (0: not enough approvals).
    error RecoveryNotReady(uint64 readyAt);
    /// @notice The caller is not the identity's recovery account.
    /// @param caller The caller.
    error RecoveryNotAccount(address caller);
    /// @notice The identity's DID owner is no longer its recovery account.
    /// @param identity The identity.
    /// @param owner Its current owner.
    error RecoveryAccountNotOwner(address identity, address owner);

    /// @notice Recovery was turned on: `account` now owns `identity` and acts for `controller`.
    /// @param identity The identity.
    /// @param account Its recovery account.
    /// @param controller The patient's key.
    event RecoveryEnabled(address indexed identity, address indexed account, address indexed controller);
    /// @notice Guardians, threshold, delay or share set changed; a new round starts.
    /// @param identity The identity.
    /// @param guardians The guardians.
    /// @param threshold Approvals needed.
    /// @param delay Seconds between the last approval and execution.
    /// @param shareSetRoot The Shamir share set anchored.
    /// @param shareEpoch The share set's epoch.
    event RecoveryConfigured(
        address indexed identity,
        address[] guardians,
        uint8 threshold,
        uint64 delay,
        bytes32 shareSetRoot,
        uint32 shareEpoch
    );
    /// @notice A guardian approved a new key.
    /// @param identity The identity.
    /// @param guardian The guardian.
    /// @param newController The key approved.
    /// @param round The round.
    /// @param approvals Approvals so far in this round.
    event RecoveryApproved(
        address indexed identity, address indexed guardian, address newController, uint64 round, uint8 approvals
    );
    /// @notice The threshold was reached: the change can execute at `readyAt`; the owner can cancel until then.
    /// @param identity The identity.
    /// @param newController The key approved.
    /// @param readyAt Block time from which it can execute.
    event RecoveryReady(address indexed identity, address newController, uint64 readyAt);
    /// @notice The current key cancelled the recovery under way.
    /// @param identity The identity.
    /// @param round The round cancelled.
    event RecoveryCancelled(address indexed identity, uint64 round);
    /// @notice The identity's key was replaced.
    /// @param identity The identity.
    /// @param previousController The old key, now powerless.
    /// @param newController The new key.
    event RecoveryExecuted(address indexed identity, address previousController, address newController);

    /// @param didRegistry_ The ERC-1056 registry whose owners are changed.
    constructor(IDIDOwnerRegistry didRegistry_) EIP712("Carekey Recovery", "1") {
        _didRegistry = didRegistry_;
        _accountImplementation = address(new RecoveryAccount());
    }

    // ------------------------------------------------------------------ patient

    /// @notice Turns recovery on for `identity`: deploys its `RecoveryAccount` (controller = the
    ///         patient's key), makes it the identity's ERC-1056 owner (with the owner's
    ///         `changeOwnerSigned` signature for the predicted account, `accountAddress`), and sets
    ///         guardians. Relayable: both signatures are the identity owner's.
    /// @param identity The patient identity.
    /// @param controller The key that will act for the identity (usually its current owner).
    /// @param settings Guardians (1..16 distinct identities, not the identity), threshold
    ///        (1..guardians), delay (seconds from the threshold to execution, during which the owner
    ///        can cancel; at most 365 days), Shamir share set root and epoch.
    /// @param deadline Last block time the signature is valid.
    /// @param signature The owner's EIP-712 `Enable` signature (nonce `nonces(identity)`).
    /// @param didSignature The owner's ERC-1056 `changeOwnerSigned` signature (65 bytes, r‖s‖v) for the account.
    /// @return account The identity's recovery account.
    function enableSigned(
        address identity,
        address controller,
        Settings calldata settings,
        uint256 deadline,
        bytes calldata signature,
        bytes calldata didSignature
    ) external returns (RecoveryAccount account) {
        if (address(_configs[identity].account) != address(0)) revert RecoveryAlreadyEnabled(identity);
        if (controller == address(0)) revert RecoveryInvalidController(controller);
        _checkConfig(identity, settings);
        address owner = _didRegistry.identityOwner(identity);
        uint256 nonce = _useNonce(identity, _nonces[identity], deadline);
        bytes32 structHash = keccak256(
            abi.encodePacked(
                ENABLE_TYPEHASH, abi.encode(identity, controller), _settingsFields(settings), abi.encode(nonce, deadline)
            )
        );
        if (!SignatureChecker.isValidSignatureNow(owner, _hashTypedDataV4(structHash), signature)) {
            revert RecoveryInvalidSignature(owner);
        }
        account = RecoveryAccount(Clones.cloneDeterministic(_accountImplementation, _salt(identity)));
        account.initialize(identity, controller);
        _changeDidOwner(identity, owner, address(account), didSignature);
        Config storage config = _configs[identity];
        config.account = account;
        _setConfig(identity, config, settings);
        emit RecoveryEnabled(identity, address(account), controller);
    }

    /// @notice Changes guardians, threshold, delay or the anchored share set (after a re-share);
    ///         cancels any recovery under way (a new round starts). Signed by the controller, relayable.
    /// @param identity The patient identity.
    /// @param settings The new settings.
    /// @param nonce The identity's next nonce (`nonces(identity)`).
    /// @param deadline Last block time the signature is valid.
    /// @param signature The controller's signature (checked through the account, ERC-1271).
    function configureSigned(
        address identity,
        Settings calldata settings,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        Config storage config = _enabled(identity);
        _checkConfig(identity, settings);
        _useNonce(identity, nonce, deadline);
        bytes32 structHash = keccak256(
            abi.encodePacked(
                CONFIGURE_TYPEHASH, abi.encode(identity), _settingsFields(settings), abi.encode(nonce, deadline)
            )
        );
        _checkAccountSignature(config, structHash, signature);
        _closeRound(identity, config);
        _setConfig(identity, config, settings);
    }

    /// @notice Cancels the recovery under way (the patient still has their key: a guardian
    ///         collusion or a mistake). Signed by the controller, relayable.
    /// @param identity The patient identity.
    /// @param round The current round (`recoveryOf(identity).round`).
    /// @param deadline Last block time the signature is valid.
    /// @param signature The controller's signature (ERC-1271 through the account).
    function cancelSigned(address identity, uint64 round, uint256 deadline, bytes calldata signature) external {
        Config storage config = _enabled(identity);
        if (block.timestamp > deadline) revert RecoverySignatureExpired(deadline, block.timestamp);
        if (round != config.round) revert RecoveryWrongRound(config.round, round);
        if (_proposals[identity].newController == address(0)) revert RecoveryNothingPending(identity);
        _checkAccountSignature(config, keccak256(abi.encode(CANCEL_TYPEHASH, identity, round, deadline)), signature);
        emit RecoveryCancelled(identity, round);
        _closeRound(identity, config);
    }

    // ------------------------------------------------------------------ guardians

    /// @notice A guardian (sent by its current owner) approves `newController` for `identity`.
    /// @param identity The patient identity.
    /// @param guardian The guardian identity.
    /// @param newController The patient's new key.
    function approve(address identity, address guardian, address newController) external {
        address guardianOwner = _didRegistry.identityOwner(guardian);
        if (msg.sender != guardianOwner) revert RecoveryNotGuardianOwner(guardian, msg.sender);
        _approve(identity, guardian, newController);
    }

    /// @notice A guardian's relayed approval (EIP-712 `Approve`, signed by the guardian's owner).
    /// @param identity The patient identity.
    /// @param guardian The guardian identity.
    /// @param newController The patient's new key.
    /// @param round The current round.
    /// @param deadline Last block time the signature is valid.
    /// @param signature The guardian owner's signature.
    function approveSigned(
        address identity,
        address guardian,
        address newController,
        uint64 round,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert RecoverySignatureExpired(deadline, block.timestamp);
        uint64 current = _enabled(identity).round;
        if (round != current) revert RecoveryWrongRound(current, round);
        address guardianOwner = _didRegistry.identityOwner(guardian);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(APPROVE_TYPEHASH, identity, guardian, newController, round, deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(guardianOwner, digest, signature)) {
            revert RecoveryInvalidSignature(guardianOwner);
        }
        _approve(identity, guardian, newController);
    }

    /// @notice Executes an approved recovery once its delay has passed (anyone may send it).
    /// @param identity The patient identity.
    function execute(address identity) external {
        Config storage config = _enabled(identity);
        Proposal memory proposal = _proposals[identity];
        if (proposal.newController == address(0)) revert RecoveryNothingPending(identity);
        if (proposal.readyAt == 0 || block.timestamp < proposal.readyAt) revert RecoveryNotReady(proposal.readyAt);
        address owner = _didRegistry.identityOwner(identity);
        if (owner != address(config.account)) revert RecoveryAccountNotOwner(identity, owner);
        address previous = config.account.controller();
        _closeRound(identity, config);
        config.account.setController(proposal.newController);
        emit RecoveryExecuted(identity, previous, proposal.newController);
    }

    // ------------------------------------------------------------------ views

    /// @notice The recovery settings and state of an identity.
    /// @param identity The identity.
    /// @return account Its recovery account (zero when off).
    /// @return guardians Its guardians.
    /// @return threshold Approvals needed.
    /// @return delay Seconds from the threshold to execution.
    /// @return round The current round.
    /// @return shareSetRoot The anchored share set.
    /// @return shareEpoch Its epoch.
    function recoveryOf(address identity)
        external
        view
        returns (
            address account,
            address[] memory guardians,
            uint8 threshold,
            uint64 delay,
            uint64 round,
            bytes32 shareSetRoot,
            uint32 shareEpoch
        )
    {
        Config storage c = _configs[identity];
        return (address(c.account), c.guardians, c.threshold, c.delay, c.round, c.shareSetRoot, c.shareEpoch);
    }

    /// @notice The recovery under way, if any.
    /// @param identity The identity.
    /// @return newController The key under approval (zero: none).
    /// @return approvals Approvals so far.
    /// @return readyAt When it can execute (zero: threshold not reached).
    function pendingRecovery(address identity)
        external
        view
        returns (address newController, uint8 approvals, uint64 readyAt)
    {
        Proposal memory p = _proposals[identity];
        return (p.newController, p.approvals, p.readyAt);
    }

    /// @notice Whether `guardian` approved in the current round.
    /// @param identity The identity.
    /// @param guardian The guardian.
    /// @return True when approved.
    function hasApproved(address identity, address guardian) external view returns (bool) {
        return _approved[identity][_configs[identity].round][guardian];
    }

    /// @notice The address the identity's recovery account has (or will have once enabled).
    /// @param identity The identity.
    /// @return The account address (sign ERC-1056 `changeOwner` to it before `enableSigned`).
    function accountAddress(address identity) external view returns (address) {
        return Clones.predictDeterministicAddress(_accountImplementation, _salt(identity));
    }

    /// @notice The next `Enable`/`Configure` nonce of an identity.
    /// @param identity The identity.
    /// @return The nonce to sign.
    function nonces(address identity) external view returns (uint256) {
        return _nonces[identity];
    }

    /// @notice The ERC-1056 registry this contract changes owners in.
    /// @return The registry.
    function didRegistry() external view returns (address) {
        return address(_didRegistry);
    }

    /// @notice The EIP-712 domain separator ("Carekey Recovery", "1").
    /// @return The separator.
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ internals

    function _approve(address identity, address guardian, address newController) private {
        Config storage config = _enabled(identity);
        if (!_isGuardian(config, guardian)) revert RecoveryNotGuardian(identity, guardian);
        if (newController == address(0) || newController == config.account.controller()) {
            revert RecoveryInvalidController(newController);
        }
        uint64 round = config.round;
        if (_approved[identity][round][guardian]) revert RecoveryAlreadyApproved(identity, guardian, round);
        Proposal storage proposal = _proposals[identity];
        if (proposal.newController == address(0)) {
            proposal.newController = newController;
        } else if (proposal.newController != newController) {
            revert RecoveryProposalMismatch(proposal.newController, newController);
        }
        _approved[identity][round][guardian] = true;
        uint8 approvals = proposal.approvals + 1;
        proposal.approvals = approvals;
        emit RecoveryApproved(identity, guardian, newController, round, approvals);
        if (approvals == config.threshold) {
            uint64 readyAt = uint64(block.timestamp) + config.delay;
            proposal.readyAt = readyAt;
            emit RecoveryReady(identity, newController, readyAt);
        }
    }

    function _closeRound(address identity, Config storage config) private {
        delete _proposals[identity];
        config.round += 1;
    }

    function _setConfig(address identity, Config storage config, Settings calldata settings) private {
        config.guardians = settings.guardians;
        config.threshold = settings.threshold;
        config.delay = settings.delay;
        config.shareSetRoot = settings.shareSetRoot;
        config.shareEpoch = settings.shareEpoch;
        emit RecoveryConfigured(
            identity, settings.guardians, settings.threshold, settings.delay, settings.shareSetRoot, settings.shareEpoch
        );
    }

    /// @dev The settings' part of an EIP-712 struct: guardiansHash, threshold, delay, shareSetRoot, shareEpoch.
    function _settingsFields(Settings calldata settings) private pure returns (bytes memory) {
        return abi.encode(
            keccak256(abi.encodePacked(settings.guardians)),
            settings.threshold,
            settings.delay,
            settings.shareSetRoot,
            settings.shareEpoch
        );
    }

    function _changeDidOwner(address identity, address owner, address account, bytes calldata didSignature) private {
        if (didSignature.length != 65) revert RecoveryInvalidSignature(owner);
        _didRegistry.changeOwnerSigned(
            identity, uint8(didSignature[64]), bytes32(didSignature[0:32]), bytes32(didSignature[32:64]), account
        );
    }

    function _checkConfig(address identity, Settings calldata settings) private pure {
        address[] calldata guardians = settings.guardians;
        uint256 n = guardians.length;
        if (n == 0 || n > MAX_GUARDIANS) revert RecoveryInvalidConfig("guardians must number 1 to 16");
        if (settings.threshold == 0 || settings.threshold > n) {
            revert RecoveryInvalidConfig("threshold must be 1 to the number of guardians");
        }
        if (settings.delay > MAX_DELAY) revert RecoveryInvalidConfig("delay must be at most 365 days");
        for (uint256 i = 0; i < n; i++) {
            address g = guardians[i];
            if (g == address(0) || g == identity) revert RecoveryInvalidConfig("a guardian is zero or the identity itself");
            for (uint256 j = 0; j < i; j++) {
                if (guardians[j] == g) revert RecoveryInvalidConfig("a guardian is listed twice");
            }
        }
    }

    function _checkAccountSignature(Config storage config, bytes32 structHash, bytes calldata signature) private view {
        address account = address(config.account);
        if (!SignatureChecker.isValidSignatureNow(account, _hashTypedDataV4(structHash), signature)) {
            revert RecoveryInvalidSignature(config.account.controller());
        }
    }

    function _useNonce(address identity, uint256 nonce, uint256 deadline) private returns (uint256) {
        if (block.timestamp > deadline) revert RecoverySignatureExpired(deadline, block.timestamp);
        uint256 expected = _nonces[identity];
        if (nonce != expected) revert RecoveryInvalidNonce(expected, nonce);
        _nonces[identity] = expected + 1;
        return nonce;
    }

    function _enabled(address identity) private view returns (Config storage config) {
        config = _configs[identity];
        if (address(config.account) == address(0)) revert RecoveryNotEnabled(identity);
    }

    function _isGuardian(Config storage config, address guardian) private view returns (bool) {
        address[] storage guardians = config.guardians;
        for (uint256 i = 0; i < guardians.length; i++) {
            if (guardians[i] == guardian) return true;
        }
        return false;
    }

    function _salt(address identity) private pure returns (bytes32) {
        return bytes32(uint256(uint160(identity)));
    }
}
