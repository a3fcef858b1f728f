// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title NaivePointerStore
/// @notice Gas baseline only: one record pointer per transaction, stored in full with an event,
///         the way a naive "pointer on chain" design does it. It names the patient in clear, which
///         Carekey never does; never deploy it outside the gas bench.
contract NaivePointerStore {
    struct Pointer {
        bytes32 blobId;
        address patient;
        bytes32 category;
        uint64 storedAt;
    }

    mapping(bytes32 recordId => Pointer) private _pointers;

    /// @notice A record id was already stored.
    /// @param recordId The duplicate record id.
    error NaivePointerStoreDuplicate(bytes32 recordId);

    /// @notice A pointer was stored.
    /// @param recordId The record id.
    /// @param blobId The blob id (digest of the CID).
    /// @param patient The patient's address (in clear: the flaw this baseline illustrates).
    /// @param category The record category.
    event PointerStored(bytes32 indexed recordId, bytes32 blobId, address indexed patient, bytes32 category);

    /// @notice Stores one record pointer.
    /// @param recordId The record id.
    /// @param blobId The blob id.
    /// @param patient The patient's address.
    /// @param category The record category.
    function storePointer(bytes32 recordId, bytes32 blobId, address patient, bytes32 category) external {
        if (_pointers[recordId].storedAt != 0) revert NaivePointerStoreDuplicate(recordId);
        _pointers[recordId] = Pointer(blobId, patient, category, uint64(block.timestamp));
        emit PointerStored(recordId, blobId, patient, category);
    }

    /// @notice Returns a stored pointer.
    /// @param recordId The record id.
    /// @return The stored pointer (zero if absent).
    function pointer(bytes32 recordId) external view returns (Pointer memory) {
        return _pointers[recordId];
    }
}
