// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {Fixture} from "./utils/Fixture.sol";

contract ConsentRegistryTest is Fixture {
    bytes32 internal constant TREAT = bytes32("TREAT");
    bytes32 internal constant CAT_LAB = keccak256("lab");
    bytes32 internal constant CAT_MENTAL = keccak256("mental");

    struct Terms {
        address patient;
        address grantee;
        uint8 scopeKind;
        bytes32[] scopeData;
        bytes32 purpose;
        uint64 expiresAt;
        bytes32 requestId;
        uint256 nonce;
        uint256 deadline;
    }

    function _none() internal pure returns (bytes32[] memory) {
        return new bytes32[](0);
    }

    function _one(bytes32 a) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](1);
        out[0] = a;
    }

    function _terms() internal view returns (Terms memory t) {
        t = Terms({
            patient: patient,
            grantee: provider,
            scopeKind: 1,
            scopeData: _one(CAT_LAB),
            purpose: TREAT,
            expiresAt: uint64(block.timestamp + 30 days),
            requestId: bytes32(0),
            nonce: 0,
            deadline: block.timestamp + 1 hours
        });
    }

    function _grantStructHash(Terms memory t) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                consent.GRANT_TYPEHASH(),
                t.patient,
                t.grantee,
                t.scopeKind,
                keccak256(abi.encodePacked(t.scopeData)),
                t.purpose,
                t.expiresAt,
                t.requestId,
                t.nonce,
                t.deadline
            )
        );
    }

    function _signGrant(uint256 key, Terms memory t) internal view returns (bytes memory) {
        return _sign(key, _consentDomain(), _grantStructHash(t));
    }

    function _submitSigned(Terms memory t, bytes memory sig) internal returns (bytes32) {
        return consent.createGrantSigned(
            t.patient, t.grantee, t.scopeKind, t.scopeData, t.purpose, t.expiresAt, t.requestId, t.nonce, t.deadline, sig
        );
    }

    function _grantDirect(Terms memory t) internal returns (bytes32) {
        // No external call may sit between a test's expectRevert and createGrant: prank the identity itself.
        vm.prank(t.patient);
        return consent.createGrant(t.patient, t.grantee, t.scopeKind, t.scopeData, t.purpose, t.expiresAt, t.requestId);
    }

    function _revokeSig(uint256 key, address who, bytes32 grantId, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _sign(
            key, _consentDomain(), keccak256(abi.encode(consent.REVOKE_TYPEHASH(), who, grantId, nonce, deadline))
        );
    }

    // ------------------------------------------------------------------ direct grants

    function test_GrantDirectByOwner() public {
        Terms memory t = _terms();
        bytes32 expectedId = keccak256(abi.encode(patient, uint256(0)));
        vm.expectEmit(true, true, true, true, address(consent));
        emit ConsentRegistry.GrantCreated(
            expectedId, patient, provider, ConsentRegistry.ScopeKind.Categories, t.scopeData, TREAT, t.expiresAt, 0
        );
        bytes32 grantId = _grantDirect(t);
        assertEq(grantId, expectedId, "grant id");
        assertTrue(consent.isActive(grantId), "active");
        ConsentRegistry.Grant memory g = consent.getGrant(grantId);
        assertEq(g.patient, patient, "patient");
        assertEq(g.grantee, provider, "grantee");
        assertEq(g.purpose, TREAT, "purpose");
        assertEq(uint256(g.expiresAt), uint256(t.expiresAt), "expiry");
        assertEq(g.scopeData[0], CAT_LAB, "scope");
        assertEq(consent.grantCount(patient), 1, "count");
        assertNotEq(_grantDirect(t), grantId, "ids distinct");
    }

    function test_T6_GrantByNonOwnerReverts() public {
        Terms memory t = _terms();
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryNotIdentityOwner.selector, patient, provider, patient)
        );
        vm.prank(provider); // the grantee cannot grant itself access
        consent.createGrant(t.patient, t.grantee, t.scopeKind, t.scopeData, t.purpose, t.expiresAt, t.requestId);
    }

    function testFuzz_T6_RandomCallerCannotGrantOrRevoke(address caller) public {
        vm.assume(caller != patient);
        Terms memory t = _terms();
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryNotIdentityOwner.selector, patient, caller, patient)
        );
        vm.prank(caller);
        consent.createGrant(t.patient, t.grantee, t.scopeKind, t.scopeData, t.purpose, t.expiresAt, t.requestId);

        bytes32 grantId = _grantDirect(t);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryNotIdentityOwner.selector, patient, caller, patient)
        );
        vm.prank(caller);
        consent.revokeGrant(grantId);
        assertTrue(consent.isActive(grantId), "still active");
    }

    function test_GrantValidatesTerms() public {
        Terms memory t = _terms();
        vm.startPrank(patient);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryZeroGrantee.selector));
        consent.createGrant(patient, address(0), 1, t.scopeData, TREAT, t.expiresAt, 0);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryZeroPurpose.selector));
        consent.createGrant(patient, provider, 1, t.scopeData, bytes32(0), t.expiresAt, 0);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryExpiryInPast.selector, block.timestamp, block.timestamp)
        );
        consent.createGrant(patient, provider, 1, t.scopeData, TREAT, uint64(block.timestamp), 0);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidScope.selector, 0, 1));
        consent.createGrant(patient, provider, 0, t.scopeData, TREAT, t.expiresAt, 0);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidScope.selector, 1, 0));
        consent.createGrant(patient, provider, 1, _none(), TREAT, t.expiresAt, 0);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidScope.selector, 2, 1));
        consent.createGrant(patient, provider, 2, _one(bytes32(0)), TREAT, t.expiresAt, 0);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidScope.selector, 3, 0));
        consent.createGrant(patient, provider, 3, _none(), TREAT, t.expiresAt, 0);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidScope.selector, 1, 65));
        consent.createGrant(patient, provider, 1, new bytes32[](65), TREAT, t.expiresAt, 0);
        vm.stopPrank();
    }

    function testFuzz_T3_ExpiryJudgedByChainTime(uint64 lifetime, uint64 elapsed) public {
        lifetime = uint64(bound(lifetime, 1, 3650 days));
        elapsed = uint64(bound(elapsed, 0, 2 * 3650 days));
        Terms memory t = _terms();
        t.expiresAt = uint64(block.timestamp) + lifetime;
        bytes32 grantId = _grantDirect(t);
        vm.warp(block.timestamp + elapsed);
        assertEq(consent.isActive(grantId), elapsed < lifetime, "active iff before expiry");
    }

    function testFuzz_ExpiryInPastReverts(uint64 expiresAt) public {
        expiresAt = uint64(bound(expiresAt, 0, block.timestamp));
        Terms memory t = _terms();
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryExpiryInPast.selector, expiresAt, block.timestamp)
        );
        vm.prank(patient);
        consent.createGrant(patient, provider, 1, t.scopeData, TREAT, expiresAt, 0);
    }

    // ------------------------------------------------------------------ signed grants (T-6)

    function test_GrantSignedRelayed() public {
        Terms memory t = _terms();
        bytes memory sig = _signGrant(PATIENT_KEY, t);
        vm.prank(mallory); // the relayer does not matter
        bytes32 grantId = _submitSigned(t, sig);
        assertTrue(consent.isActive(grantId), "active");
        assertEq(consent.nonces(patient), 1, "nonce used");
    }

    function test_T6_GrantSignedBySomeoneElseReverts() public {
        Terms memory t = _terms();
        bytes memory sig = _signGrant(PROVIDER_KEY, t);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, patient));
        _submitSigned(t, sig);
    }

    function test_T6_GrantSignedForOtherChainReverts() public {
        Terms memory t = _terms();
        bytes memory sig =
            _sign(PATIENT_KEY, _domain("Carekey ConsentRegistry", block.chainid + 1, address(consent)), _grantStructHash(t));
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, patient));
        _submitSigned(t, sig);
    }

    function test_T6_GrantSignedOnOtherChainIdAtSubmissionReverts() public {
        Terms memory t = _terms();
        bytes memory sig = _signGrant(PATIENT_KEY, t);
        vm.chainId(block.chainid + 7); // the same signature replayed on a fork with another chain id
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, patient));
        _submitSigned(t, sig);
    }

    function test_T6_GrantSignedForOtherContractReverts() public {
        Terms memory t = _terms();
        bytes memory sig =
            _sign(PATIENT_KEY, _domain("Carekey ConsentRegistry", block.chainid, address(records)), _grantStructHash(t));
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, patient));
        _submitSigned(t, sig);
    }

    function test_T6_GrantSignedReplayedNonceReverts() public {
        Terms memory t = _terms();
        bytes memory sig = _signGrant(PATIENT_KEY, t);
        _submitSigned(t, sig);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidNonce.selector, patient, 1, 0));
        _submitSigned(t, sig);
    }

    function test_T6_GrantSignedExpiryInPastReverts() public {
        Terms memory t = _terms();
        t.expiresAt = uint64(block.timestamp - 1);
        bytes memory sig = _signGrant(PATIENT_KEY, t);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryExpiryInPast.selector, t.expiresAt, block.timestamp)
        );
        _submitSigned(t, sig);
    }

    function test_T6_GrantSignedDeadlinePassedReverts() public {
        Terms memory t = _terms();
        bytes memory sig = _signGrant(PATIENT_KEY, t);
        vm.warp(t.deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistrySignatureExpired.selector, t.deadline, t.deadline + 1)
        );
        _submitSigned(t, sig);
    }

    function test_T6_GrantSignedTamperedTermsReverts() public {
        Terms memory t = _terms();
        bytes memory sig = _signGrant(PATIENT_KEY, t);
        t.scopeKind = 0; // widen the scope to everything
        t.scopeData = _none();
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, patient));
        _submitSigned(t, sig);
    }

    function testFuzz_T6_GrantSignedByRandomKeyReverts(uint256 key, address grantee, bytes32 tag, uint64 lifetime)
        public
    {
        key = boundKey(key);
        vm.assume(vm.addr(key) != patient && grantee != address(0));
        Terms memory t = _terms();
        t.grantee = grantee;
        t.scopeData = _one(tag);
        t.expiresAt = uint64(block.timestamp) + uint64(bound(lifetime, 1, 3650 days));
        bytes memory sig = _signGrant(key, t);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, patient));
        _submitSigned(t, sig);
        assertEq(consent.grantCount(patient), 0, "no grant");
    }

    function testFuzz_GrantSignedByOwnerAnyTerms(address grantee, uint8 scopeKind, bytes32 item, bytes32 purpose, uint64 lifetime)
        public
    {
        vm.assume(grantee != address(0) && purpose != bytes32(0) && item != bytes32(0));
        Terms memory t = _terms();
        t.grantee = grantee;
        t.scopeKind = uint8(bound(scopeKind, 0, 2));
        t.scopeData = t.scopeKind == 0 ? _none() : _one(item);
        t.purpose = purpose;
        t.expiresAt = uint64(block.timestamp) + uint64(bound(lifetime, 1, 3650 days));
        bytes32 grantId = _submitSigned(t, _signGrant(PATIENT_KEY, t));
        ConsentRegistry.Grant memory g = consent.getGrant(grantId);
        assertEq(g.grantee, grantee, "grantee");
        assertEq(uint256(g.scopeKind), t.scopeKind, "scope kind");
        assertEq(g.purpose, purpose, "purpose");
    }

    // ------------------------------------------------------------------ revocation (T-4)

    function test_T4_RevokeDirect() public {
        bytes32 grantId = _grantDirect(_terms());
        vm.expectEmit(true, true, true, true, address(consent));
        emit ConsentRegistry.GrantRevoked(grantId, patient, provider);
        vm.prank(patient);
        consent.revokeGrant(grantId);
        assertFalse(consent.isActive(grantId), "inactive");
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryGrantAlreadyRevoked.selector, grantId));
        vm.prank(patient);
        consent.revokeGrant(grantId);
    }

    function test_T4_RevokeSignedRelayed() public {
        bytes32 grantId = _grantDirect(_terms());
        uint256 deadline = block.timestamp + 1 hours;
        consent.revokeGrantSigned(grantId, 0, deadline, _revokeSig(PATIENT_KEY, patient, grantId, 0, deadline));
        assertFalse(consent.isActive(grantId), "inactive");
    }

    function test_T6_RevokeSignedBySomeoneElseOrReplayedReverts() public {
        bytes32 grantId = _grantDirect(_terms());
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory bad = _revokeSig(PROVIDER_KEY, patient, grantId, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, patient));
        consent.revokeGrantSigned(grantId, 0, deadline, bad);

        bytes32 other = _grantDirect(_terms());
        consent.revokeGrantSigned(grantId, 0, deadline, _revokeSig(PATIENT_KEY, patient, grantId, 0, deadline));
        // a revoke signature for grant A cannot revoke grant B
        bytes memory forA = _revokeSig(PATIENT_KEY, patient, grantId, 1, deadline);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, patient));
        consent.revokeGrantSigned(other, 1, deadline, forA);
        bytes memory stale = _revokeSig(PATIENT_KEY, patient, other, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidNonce.selector, patient, 1, 0));
        consent.revokeGrantSigned(other, 0, deadline, stale);
        assertTrue(consent.isActive(other), "other still active");
    }

    function testFuzz_UnknownGrant(bytes32 grantId) public {
        assertFalse(consent.isActive(grantId), "unknown inactive");
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryUnknownGrant.selector, grantId));
        consent.getGrant(grantId);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryUnknownGrant.selector, grantId));
        consent.revokeGrant(grantId);
    }

    // ------------------------------------------------------------------ coverage (R-16, T-2)

    function test_R16_CategoryScopeCoversOnlyItsCategories() public {
        bytes32 grantId = _grantDirect(_terms());
        assertTrue(consent.covers(grantId, keccak256("any record"), CAT_LAB, _none()), "lab covered");
        assertFalse(consent.covers(grantId, keccak256("any record"), CAT_MENTAL, _none()), "mental not covered");
    }

    function testFuzz_R16_CategoryScope(bytes32 granted, bytes32 asked, bytes32 recordId) public {
        Terms memory t = _terms();
        t.scopeData = _one(granted);
        bytes32 grantId = _grantDirect(t);
        assertEq(consent.covers(grantId, recordId, asked, _none()), granted == asked, "covered iff same tag");
    }

    function test_T2_RecordScopeCoversProvenRecordsOnly() public {
        bytes32 a = keccak256("record a");
        bytes32 b = keccak256("record b");
        bytes32 leafA = consent.recordIdLeaf(a);
        bytes32 leafB = consent.recordIdLeaf(b);
        bytes32 root = leafA < leafB ? keccak256(abi.encode(leafA, leafB)) : keccak256(abi.encode(leafB, leafA));
        Terms memory t = _terms();
        t.scopeKind = 2;
        t.scopeData = _one(root);
        bytes32 grantId = _grantDirect(t);
        assertTrue(consent.covers(grantId, a, CAT_MENTAL, _one(leafB)), "a proven");
        assertTrue(consent.covers(grantId, b, CAT_MENTAL, _one(leafA)), "b proven");
        assertFalse(consent.covers(grantId, keccak256("record c"), CAT_MENTAL, _one(leafA)), "c not in root");
        assertFalse(consent.covers(grantId, a, CAT_MENTAL, _none()), "no proof");
    }

    function test_AllScopeCoversEverythingUntilRevoked() public {
        Terms memory t = _terms();
        t.scopeKind = 0;
        t.scopeData = _none();
        bytes32 grantId = _grantDirect(t);
        assertTrue(consent.covers(grantId, keccak256("x"), keccak256("y"), _none()), "covered");
        vm.prank(patient);
        consent.revokeGrant(grantId);
        assertFalse(consent.covers(grantId, keccak256("x"), keccak256("y"), _none()), "revoked covers nothing");
    }

    function test_T3_ExpiredGrantCoversNothing() public {
        Terms memory t = _terms();
        bytes32 grantId = _grantDirect(t);
        vm.warp(t.expiresAt);
        assertFalse(consent.covers(grantId, keccak256("x"), CAT_LAB, _none()), "expired covers nothing");
    }

    // ------------------------------------------------------------------ access requests

    function _request() internal returns (bytes32 requestId) {
        vm.prank(provider);
        requestId = consent.requestAccess(provider, patient, 1, _one(CAT_LAB), TREAT, uint64(block.timestamp + 7 days));
    }

    function test_AccessRequestApprovedByLinkedGrant() public {
        bytes32 expectedRequest = keccak256(abi.encode(keccak256("carekey.request"), provider, uint256(0)));
        vm.expectEmit(true, true, true, true, address(consent));
        emit ConsentRegistry.AccessRequested(
            expectedRequest,
            patient,
            provider,
            ConsentRegistry.ScopeKind.Categories,
            _one(CAT_LAB),
            TREAT,
            uint64(block.timestamp + 7 days)
        );
        bytes32 requestId = _request();
        assertEq(requestId, expectedRequest, "request id");

        Terms memory t = _terms();
        t.requestId = requestId;
        bytes32 expectedGrant = keccak256(abi.encode(patient, uint256(0)));
        vm.expectEmit(true, true, false, false, address(consent));
        emit ConsentRegistry.AccessRequestApproved(requestId, expectedGrant);
        bytes32 grantId = _grantDirect(t);
        ConsentRegistry.AccessRequest memory r = consent.getRequest(requestId);
        assertEq(uint256(r.status), uint256(ConsentRegistry.RequestStatus.Approved), "approved");
        assertEq(r.grantId, grantId, "linked grant");
        assertEq(consent.getGrant(grantId).requestId, requestId, "grant links request");

        vm.expectRevert(
            abi.encodeWithSelector(
                ConsentRegistry.ConsentRegistryRequestNotPending.selector,
                requestId,
                ConsentRegistry.RequestStatus.Approved
            )
        );
        vm.prank(patient);
        consent.denyRequest(requestId);
    }

    function test_AccessRequestDenied() public {
        bytes32 requestId = _request();
        vm.expectEmit(true, true, false, false, address(consent));
        emit ConsentRegistry.AccessRequestDenied(requestId, patient);
        vm.prank(patient);
        consent.denyRequest(requestId);
        Terms memory t = _terms();
        t.requestId = requestId;
        vm.expectRevert(
            abi.encodeWithSelector(
                ConsentRegistry.ConsentRegistryRequestNotPending.selector, requestId, ConsentRegistry.RequestStatus.Denied
            )
        );
        _grantDirect(t);
    }

    function test_T6_OnlyPatientDeniesAndGrantMustMatchRequest() public {
        bytes32 requestId = _request();
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryNotIdentityOwner.selector, patient, provider, patient)
        );
        vm.prank(provider);
        consent.denyRequest(requestId);

        Terms memory t = _terms();
        t.requestId = requestId;
        t.grantee = mallory; // answering a provider's request with a grant to someone else
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryRequestMismatch.selector, requestId, patient, provider)
        );
        _grantDirect(t);

        t.requestId = keccak256("no such request");
        t.grantee = provider;
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryUnknownRequest.selector, t.requestId));
        _grantDirect(t);
    }

    function test_DenySignedRelayed() public {
        bytes32 requestId = _request();
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _sign(
            PATIENT_KEY, _consentDomain(), keccak256(abi.encode(consent.DENY_TYPEHASH(), patient, requestId, 0, deadline))
        );
        consent.denyRequestSigned(requestId, 0, deadline, sig);
        assertEq(uint256(consent.getRequest(requestId).status), uint256(ConsentRegistry.RequestStatus.Denied), "denied");
    }

    function test_AccessRequestSignedRelayedAndForged() public {
        uint64 expiresAt = uint64(block.timestamp + 7 days);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                consent.ACCESS_REQUEST_TYPEHASH(),
                provider,
                patient,
                uint8(1),
                keccak256(abi.encodePacked(_one(CAT_LAB))),
                TREAT,
                expiresAt,
                uint256(0),
                deadline
            )
        );
        bytes memory forged = _sign(MALLORY_KEY, _consentDomain(), structHash);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidSignature.selector, provider, provider)
        );
        consent.requestAccessSigned(provider, patient, 1, _one(CAT_LAB), TREAT, expiresAt, 0, deadline, forged);

        bytes32 requestId = consent.requestAccessSigned(
            provider, patient, 1, _one(CAT_LAB), TREAT, expiresAt, 0, deadline, _sign(PROVIDER_KEY, _consentDomain(), structHash)
        );
        assertEq(consent.getRequest(requestId).requester, provider, "requester");
    }

    function testFuzz_T6_RandomCallerCannotRequestForProvider(address caller) public {
        vm.assume(caller != provider);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryNotIdentityOwner.selector, provider, caller, provider)
        );
        vm.prank(caller);
        consent.requestAccess(provider, patient, 0, _none(), TREAT, uint64(block.timestamp + 1));
    }

    function test_RequestForZeroPatientReverts() public {
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryZeroPatient.selector));
        vm.prank(provider);
        consent.requestAccess(provider, address(0), 0, _none(), TREAT, uint64(block.timestamp + 1));
    }

    function testFuzz_RequestAccessValidatesScope(uint8 scopeKind, uint8 length, bytes32 item, bytes32 purpose) public {
        length = uint8(bound(length, 0, 70));
        bytes32[] memory scopeData = new bytes32[](length);
        for (uint256 i = 0; i < length; i++) {
            scopeData[i] = item;
        }
        bool validScope = (scopeKind == 0 && length == 0) || (scopeKind == 1 && length > 0 && length <= 64)
            || (scopeKind == 2 && length == 1 && item != bytes32(0));
        if (!validScope) {
            vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryInvalidScope.selector, scopeKind, length));
        } else if (purpose == bytes32(0)) {
            vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ConsentRegistryZeroPurpose.selector));
        }
        vm.prank(provider);
        bytes32 requestId =
            consent.requestAccess(provider, patient, scopeKind, scopeData, purpose, uint64(block.timestamp + 1 days));
        if (validScope && purpose != bytes32(0)) {
            ConsentRegistry.AccessRequest memory r = consent.getRequest(requestId);
            assertEq(uint256(r.status), uint256(ConsentRegistry.RequestStatus.Pending), "pending");
            assertEq(r.scopeData.length, length, "scope kept");
            assertEq(r.purpose, purpose, "purpose kept");
        }
    }

    function testFuzz_T6_DenyByRandomCallerChangesNothing(address caller) public {
        vm.assume(caller != patient);
        bytes32 requestId = _request();
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.ConsentRegistryNotIdentityOwner.selector, patient, caller, patient)
        );
        vm.prank(caller);
        consent.denyRequest(requestId);
        assertEq(uint256(consent.getRequest(requestId).status), uint256(ConsentRegistry.RequestStatus.Pending), "pending");
    }
}
