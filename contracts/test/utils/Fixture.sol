// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EthereumDIDRegistry} from "ethr-did-registry/contracts/EthereumDIDRegistry.sol";
import {IIdentityRegistry} from "../../src/identity/IIdentityRegistry.sol";
import {RecordRegistry} from "../../src/RecordRegistry.sol";
import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {Test} from "./Test.sol";

/// @notice Deploys the ERC-1056 registry and both Carekey registries, and signs EIP-712 messages.
abstract contract Fixture is Test {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    uint64 internal constant SHRED_DELAY = 7 days;

    uint256 internal constant PATIENT_KEY = 0xA11CE;
    uint256 internal constant PROVIDER_KEY = 0xB0B;
    uint256 internal constant MALLORY_KEY = 0x3A11;
    uint256 internal constant NEW_OWNER_KEY = 0x5EED;

    address internal patient;
    address internal provider;
    address internal mallory;
    address internal newOwner;

    EthereumDIDRegistry internal didRegistry;
    RecordRegistry internal records;
    ConsentRegistry internal consent;

    function setUp() public virtual {
        patient = vm.addr(PATIENT_KEY);
        provider = vm.addr(PROVIDER_KEY);
        mallory = vm.addr(MALLORY_KEY);
        newOwner = vm.addr(NEW_OWNER_KEY);
        vm.warp(1_750_000_000);
        didRegistry = new EthereumDIDRegistry();
        records = new RecordRegistry(IIdentityRegistry(address(didRegistry)), SHRED_DELAY);
        consent = new ConsentRegistry(IIdentityRegistry(address(didRegistry)));
    }

    function didRegistryAsIdentity() internal view returns (IIdentityRegistry) {
        return IIdentityRegistry(address(didRegistry));
    }

    function _domain(string memory name, uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256(bytes("1")), chainId, verifyingContract)
        );
    }

    function _sign(uint256 key, bytes32 domainSeparator, bytes32 structHash) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash)));
        return abi.encodePacked(r, s, v);
    }

    function _consentDomain() internal view returns (bytes32) {
        return _domain("Carekey ConsentRegistry", block.chainid, address(consent));
    }

    function _recordsDomain() internal view returns (bytes32) {
        return _domain("Carekey RecordRegistry", block.chainid, address(records));
    }

    function _rotate(address identity, uint256 currentKey, address to) internal {
        vm.prank(vm.addr(currentKey));
        didRegistry.changeOwner(identity, to);
    }
}
