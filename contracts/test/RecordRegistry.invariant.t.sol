// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EthereumDIDRegistry} from "ethr-did-registry/contracts/EthereumDIDRegistry.sol";
import {RecordRegistry} from "../src/RecordRegistry.sol";
import {IIdentityRegistry} from "../src/identity/IIdentityRegistry.sol";
import {RecordRegistryHandler} from "./handlers/RecordRegistryHandler.sol";
import {Test} from "./utils/Test.sol";

contract RecordRegistryInvariantTest is Test {
    RecordRegistry internal records;
    RecordRegistryHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        EthereumDIDRegistry didRegistry = new EthereumDIDRegistry();
        records = new RecordRegistry(IIdentityRegistry(address(didRegistry)), 1 days);
        handler = new RecordRegistryHandler(records);
        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = RecordRegistryHandler.publishAsOwner.selector;
        selectors[1] = RecordRegistryHandler.requestShred.selector;
        selectors[2] = RecordRegistryHandler.cancelShred.selector;
        selectors[3] = RecordRegistryHandler.finalizeAsAnyone.selector;
        selectors[4] = RecordRegistryHandler.reviveShredded.selector;
        selectors[5] = RecordRegistryHandler.warp.selector;
        selectors[6] = RecordRegistryHandler.actAsRandomCaller.selector;
        selectors[7] = RecordRegistryHandler.publishBulkSigned.selector;
        selectors[8] = RecordRegistryHandler.shredSignedAsOwner.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice Batch ids are sequential and the batch count never decreases.
    function invariant_BatchCountMonotone() public view {
        assertFalse(handler.batchCountWentBackwards(), "batch ids not sequential");
        assertEq(records.batchCount(), handler.ghostBatches(), "one batch per owner publish");
    }

    /// @notice A shredded record stays shredded.
    function invariant_ShreddedStaysShredded() public view {
        uint256 count = handler.shreddedCount();
        for (uint256 i = 0; i < count; i++) {
            (address patient, bytes32 recordId) = handler.shredded(i);
            (RecordRegistry.ShredState state,) = records.shredState(patient, recordId);
            assertEq(uint256(state), uint256(RecordRegistry.ShredState.Shredded), "shredded record revived");
        }
    }

    /// @notice R-11: finalisation, open to anyone, succeeds exactly for a pending record whose
    ///         delay has passed (never a cancelled, unrequested or shredded one, never early).
    function invariant_R11_FinalizeOnlyWhenPendingAndDue() public view {
        assertFalse(handler.finalizeOutOfTurn(), "finalisation out of turn");
    }

    /// @notice Only an identity's own signed actions move its nonce: finalising takes none, so a
    ///         pending shred never collides with the identity's next publish or shred.
    function invariant_FinalizeTakesNoNonce() public view {
        for (uint256 k = 0; k < 2; k++) {
            address identity = vm.addr(k == 0 ? 0xC0DE1 : 0xC0DE2);
            assertEq(records.nonces(identity), handler.ghostSignedNonces(identity), "nonce moved without a signature");
        }
    }

    /// @notice T-6: random callers publish nothing and request or cancel no shred.
    function invariant_T6_OnlyIdentityOwnerMutates() public view {
        assertFalse(handler.unauthorizedMutation(), "a non-owner (or a revival) changed record state");
    }
}
