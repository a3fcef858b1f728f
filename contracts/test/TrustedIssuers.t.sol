// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TrustedIssuers} from "../src/TrustedIssuers.sol";
import {Fixture} from "./utils/Fixture.sol";

/// @notice TrustedIssuers: an issuer is added or removed only with m-of-n governor approvals (T-7);
///         governors act through their current ERC-1056 owner key.
contract TrustedIssuersTest is Fixture {
    uint256 internal constant G1_KEY = 0x601;
    uint256 internal constant G2_KEY = 0x602;
    uint256 internal constant G3_KEY = 0x603;
    uint8 internal constant ADD = 0;
    uint8 internal constant REMOVE = 1;

    address internal g1;
    address internal g2;
    address internal g3;
    address internal board = address(0xB0A2D);
    TrustedIssuers internal trusted;

    event IssuerAdded(address indexed issuer);
    event IssuerRemoved(address indexed issuer);

    function setUp() public override {
        super.setUp();
        g1 = vm.addr(G1_KEY);
        g2 = vm.addr(G2_KEY);
        g3 = vm.addr(G3_KEY);
        address[] memory govs = new address[](3);
        govs[0] = g1;
        govs[1] = g2;
        govs[2] = g3;
        trusted = new TrustedIssuers(didRegistryAsIdentity(), govs, 2);
    }

    function _approvalSig(uint256 key, address governor, uint8 action, address issuer, uint64 epoch, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        bytes32 structHash =
            keccak256(abi.encode(trusted.APPROVAL_TYPEHASH(), governor, action, issuer, epoch, nonce, deadline));
        return _sign(key, _domain("Carekey TrustedIssuers", block.chainid, address(trusted)), structHash);
    }

    function _add(address issuer) internal {
        vm.prank(g1);
        trusted.approve(g1, ADD, issuer);
        vm.prank(g2);
        trusted.approve(g2, ADD, issuer);
    }

    function test_T7_AddNeedsThresholdApprovals() public {
        vm.prank(g1);
        assertFalse(trusted.approve(g1, ADD, board), "one approval does not apply");
        assertFalse(trusted.isTrusted(board), "not trusted after 1 of 3");
        assertEq(trusted.approvals(ADD, board), 1, "one approval counted");
        vm.expectEmit(true, false, false, false, address(trusted));
        emit IssuerAdded(board);
        vm.prank(g2);
        assertTrue(trusted.approve(g2, ADD, board), "second approval applies");
        assertTrue(trusted.isTrusted(board), "trusted after 2 of 3");
        assertEq(trusted.trustedIssuers().length, 1, "listed");
        assertEq(trusted.epoch(board), 1, "epoch moved");
        assertEq(trusted.approvals(ADD, board), 0, "fresh count in the new epoch");
    }

    function test_T7_RemoveNeedsThresholdApprovals() public {
        _add(board);
        vm.prank(g3);
        trusted.approve(g3, REMOVE, board);
        assertTrue(trusted.isTrusted(board), "still trusted after 1 removal approval");
        vm.expectEmit(true, false, false, false, address(trusted));
        emit IssuerRemoved(board);
        vm.prank(g1);
        trusted.approve(g1, REMOVE, board);
        assertFalse(trusted.isTrusted(board), "removed");
        assertEq(trusted.trustedIssuers().length, 0, "unlisted");
    }

    function test_T7_ReplayedApprovalReverts() public {
        vm.prank(g1);
        trusted.approve(g1, ADD, board);
        vm.expectRevert(
            abi.encodeWithSelector(
                TrustedIssuers.TrustedIssuersAlreadyApproved.selector, g1, TrustedIssuers.Action.Add, board, uint64(0)
            )
        );
        vm.prank(g1);
        trusted.approve(g1, ADD, board);
        assertEq(trusted.approvals(ADD, board), 1, "unchanged");
    }

    function test_T7_NonGovernorReverts() public {
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersNotGovernor.selector, mallory));
        vm.prank(mallory);
        trusted.approve(mallory, ADD, board);
    }

    function test_T7_NotOwnerOfGovernorReverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(TrustedIssuers.TrustedIssuersNotIdentityOwner.selector, g1, mallory, g1)
        );
        vm.prank(mallory);
        trusted.approve(g1, ADD, board);
    }

    function test_AddTrustedAndRemoveUntrustedRevert() public {
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersNotTrusted.selector, board));
        vm.prank(g1);
        trusted.approve(g1, REMOVE, board);
        _add(board);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersAlreadyTrusted.selector, board));
        vm.prank(g3);
        trusted.approve(g3, ADD, board);
    }

    function test_ZeroIssuerAndBadActionRevert() public {
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersZeroIssuer.selector));
        vm.prank(g1);
        trusted.approve(g1, ADD, address(0));
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersInvalidAction.selector, uint8(2)));
        vm.prank(g1);
        trusted.approve(g1, 2, board);
    }

    function test_ConstructorRejectsBadThresholdAndGovernors() public {
        address[] memory govs = new address[](2);
        govs[0] = g1;
        govs[1] = g1;
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersInvalidThreshold.selector, 3, 2));
        new TrustedIssuers(didRegistryAsIdentity(), govs, 3);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersInvalidThreshold.selector, 0, 2));
        new TrustedIssuers(didRegistryAsIdentity(), govs, 0);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersInvalidGovernor.selector, g1));
        new TrustedIssuers(didRegistryAsIdentity(), govs, 1);
        govs[1] = address(0);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersInvalidGovernor.selector, address(0)));
        new TrustedIssuers(didRegistryAsIdentity(), govs, 1);
    }

    function test_T6_RotatedGovernorKeyTakesEffect() public {
        _rotate(g1, G1_KEY, newOwner);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersNotIdentityOwner.selector, g1, g1, newOwner));
        vm.prank(g1);
        trusted.approve(g1, ADD, board);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory oldSig = _approvalSig(G1_KEY, g1, ADD, board, 0, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersInvalidSignature.selector, g1, newOwner));
        trusted.approveSigned(g1, ADD, board, 0, 0, deadline, oldSig);
        vm.prank(newOwner);
        trusted.approve(g1, ADD, board);
        assertTrue(trusted.hasApproved(g1, ADD, board), "new key approves");
    }

    function test_SignedApprovalRelayedByAnyone() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory s1 = _approvalSig(G1_KEY, g1, ADD, board, 0, 0, deadline);
        bytes memory s2 = _approvalSig(G2_KEY, g2, ADD, board, 0, 0, deadline);
        vm.prank(mallory);
        trusted.approveSigned(g1, ADD, board, 0, 0, deadline, s1);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersInvalidNonce.selector, g1, 1, 0));
        trusted.approveSigned(g1, ADD, board, 0, 0, deadline, s1);
        trusted.approveSigned(g2, ADD, board, 0, 0, deadline, s2);
        assertTrue(trusted.isTrusted(board), "two signed approvals applied");
        assertEq(trusted.nonces(g1), 1, "nonce used");
    }

    function test_SignedApprovalStaleEpochExpiredOrForgedReverts() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory stale = _approvalSig(G3_KEY, g3, ADD, board, 0, 0, deadline);
        _add(board);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersStaleEpoch.selector, board, 1, 0));
        trusted.approveSigned(g3, ADD, board, 0, 0, deadline, stale);
        bytes memory late = _approvalSig(G3_KEY, g3, REMOVE, board, 1, 0, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(TrustedIssuers.TrustedIssuersSignatureExpired.selector, deadline, deadline + 1)
        );
        trusted.approveSigned(g3, REMOVE, board, 1, 0, deadline, late);
        deadline = block.timestamp + 1 hours;
        bytes memory forged = _approvalSig(MALLORY_KEY, g3, REMOVE, board, 1, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersInvalidSignature.selector, g3, g3));
        trusted.approveSigned(g3, REMOVE, board, 1, 0, deadline, forged);
        assertTrue(trusted.isTrusted(board), "nothing changed");
    }

    function test_ApprovalsForOlderEpochDoNotCount() public {
        vm.prank(g3);
        trusted.approve(g3, ADD, board); // pending add, epoch 0
        vm.prank(g1);
        trusted.approve(g1, ADD, board); // applied: epoch 1
        vm.prank(g1);
        trusted.approve(g1, REMOVE, board);
        vm.prank(g2);
        trusted.approve(g2, REMOVE, board); // removed, epoch 2
        assertFalse(trusted.hasApproved(g3, ADD, board), "g3's old approval is void");
        vm.prank(g1);
        assertFalse(trusted.approve(g1, ADD, board), "needs a second fresh approval");
        assertFalse(trusted.isTrusted(board), "not trusted on one approval");
    }

    /// @notice Fuzz: any non-governor identity is refused and nothing changes.
    function testFuzz_T7_RandomIdentityCannotApprove(address who, address issuer, bool remove) public {
        vm.assume(who != g1 && who != g2 && who != g3 && issuer != address(0));
        vm.prank(who);
        vm.expectRevert();
        trusted.approve(who, remove ? REMOVE : ADD, issuer);
        assertFalse(trusted.isTrusted(issuer), "nothing trusted");
    }

    /// @notice Fuzz: a signature by a random key never counts for a governor.
    function testFuzz_T7_RandomKeyCannotSign(uint256 key, address issuer) public {
        key = boundKey(key);
        vm.assume(key != G1_KEY && issuer != address(0));
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _approvalSig(key, g1, ADD, issuer, 0, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(TrustedIssuers.TrustedIssuersInvalidSignature.selector, g1, g1));
        trusted.approveSigned(g1, ADD, issuer, 0, 0, deadline, sig);
    }

    /// @notice Fuzz: for any threshold m of n, an issuer is trusted exactly after the m-th distinct approval.
    function testFuzz_ThresholdIsExact(uint8 n, uint8 m, address issuer) public {
        n = uint8(bound(n, 1, 8));
        m = uint8(bound(m, 1, n));
        vm.assume(issuer != address(0));
        address[] memory govs = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            govs[i] = vm.addr(0x1000 + i);
        }
        TrustedIssuers t = new TrustedIssuers(didRegistryAsIdentity(), govs, m);
        for (uint256 i = 0; i < m; i++) {
            assertFalse(t.isTrusted(issuer), "not before the m-th approval");
            vm.prank(govs[i]);
            t.approve(govs[i], ADD, issuer);
        }
        assertTrue(t.isTrusted(issuer), "trusted at the m-th approval");
    }
}
