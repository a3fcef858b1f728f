// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IIdentityRegistry
/// @notice The one ERC-1056 (`EthereumDIDRegistry`) function Carekey contracts depend on.
///         Authorising through `identityOwner` rather than `msg.sender == identity` means a
///         key rotation or a social recovery (`changeOwner`) takes effect everywhere at once,
///         with nothing to migrate.
interface IIdentityRegistry {
    /// @notice The address currently controlling `identity` (the identity itself until changed).
    /// @param identity The `did:ethr` identity address.
    /// @return The current owner.
    function identityOwner(address identity) external view returns (address);
}
