"""OpenPGP packets made by hand (Ed25519, v4), for attack tests: keys, certificates and
signatures shaped in ways gpg itself never writes (subkeys bound without back-signature,
issuer subpackets that disagree, critical notations, text-mode signatures…).

Only what the tests need; every byte follows RFC 4880 / RFC 9580 so that gpg and Sequoia
read the result as they would read any other sender's."""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519_OID = bytes.fromhex("2B06010401DA470F01")
EDDSA = 22
SHA256, SHA1 = 8, 2
HASHES = {SHA256: hashlib.sha256, SHA1: hashlib.sha1, 10: hashlib.sha512, 9: hashlib.sha384,
          11: hashlib.sha224, 1: hashlib.md5}


def mpi(value: bytes) -> bytes:
    n = int.from_bytes(value, "big")
    return struct.pack(">H", n.bit_length()) + n.to_bytes((n.bit_length() + 7) // 8, "big")


def packet(tag: int, body: bytes, old: bool = False) -> bytes:
    """A packet with a definite length (new format, or old format with `old`)."""
    if old:
        if len(body) < 256:
            return bytes([0x80 | (tag << 2), len(body)]) + body
        return bytes([0x80 | (tag << 2) | 2]) + struct.pack(">I", len(body)) + body
    n = len(body)
    if n < 192:
        head = bytes([n])
    elif n < 8384:
        n -= 192
        head = bytes([(n >> 8) + 192, n & 0xFF])
    else:
        head = b"\xff" + struct.pack(">I", n)
    return bytes([0xC0 | tag]) + head + body


def partial(tag: int, body: bytes, chunk: int = 512) -> bytes:
    """A packet with partial body lengths (chunks of 2**k bytes, then a definite rest)."""
    k = chunk.bit_length() - 1
    out = bytes([0xC0 | tag])
    while len(body) > chunk:
        out += bytes([224 + k]) + body[:chunk]
        body = body[chunk:]
    return out + packet(tag, body)[1:]


def sub(kind: int, data: bytes, critical: bool = False) -> bytes:
    body = bytes([kind | (0x80 if critical else 0)]) + data
    n = len(body)
    if n < 192:
        return bytes([n]) + body
    n -= 192
    return bytes([(n >> 8) + 192, n & 0xFF]) + body


def created(t: int, critical: bool = False) -> bytes:
    return sub(2, struct.pack(">I", t), critical)


@dataclass
class Key:
    """An Ed25519 key (primary or subkey) and its v4 public key packet body."""

    secret: Ed25519PrivateKey
    when: int

    @property
    def public(self) -> bytes:
        return self.secret.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def body(self) -> bytes:
        return (bytes([4]) + struct.pack(">I", self.when) + bytes([EDDSA, len(ED25519_OID)])
                + ED25519_OID + mpi(b"\x40" + self.public))

    @property
    def fpr(self) -> str:
        return hashlib.sha1(b"\x99" + struct.pack(">H", len(self.body)) + self.body).hexdigest() \
            .upper()

    @property
    def keyid(self) -> bytes:
        return bytes.fromhex(self.fpr[-16:])

    def keyhash(self) -> bytes:
        return b"\x99" + struct.pack(">H", len(self.body)) + self.body

    def secret_body(self) -> bytes:
        seed = self.secret.private_bytes_raw()
        m = mpi(seed)
        return self.body + b"\x00" + m + struct.pack(">H", sum(m) & 0xFFFF)

    def issuer(self) -> bytes:
        return sub(33, b"\x04" + bytes.fromhex(self.fpr))

    def issuer_id(self) -> bytes:
        return sub(16, self.keyid)


def new_key(when: int) -> Key:
    return Key(Ed25519PrivateKey.generate(), when)


def signature(signer: Key, kind: int, to_hash: bytes, hashed: bytes, unhashed: bytes = b"",
              hash_algo: int = SHA256, version: int = 4) -> bytes:
    """A v4 signature packet body by `signer` over `to_hash` (the type-specific prefix)."""
    head = bytes([version, kind, EDDSA, hash_algo]) + struct.pack(">H", len(hashed)) + hashed
    trailer = bytes([version, 0xFF]) + struct.pack(">I", len(head))
    digest = HASHES[hash_algo](to_hash + head + trailer).digest()
    sig = signer.secret.sign(digest)
    return head + struct.pack(">H", len(unhashed)) + unhashed + digest[:2] + mpi(sig[:32]) \
        + mpi(sig[32:])


def doc_sig(signer: Key, data: bytes, when: int, kind: int = 0, extra_hashed: bytes = b"",
            unhashed: bytes | None = None, hash_algo: int = SHA256,
            issuer: Key | None = None) -> bytes:
    """A detached signature packet over `data` (type 0 binary, 1 text: `data` must then be
    what is hashed, i.e. with CRLF line ends)."""
    who = issuer or signer
    hashed = created(when) + who.issuer() + extra_hashed
    return packet(2, signature(signer, kind, data, hashed,
                               who.issuer_id() if unhashed is None else unhashed, hash_algo))


def canonical_text(data: bytes) -> bytes:
    """What a text-mode (type 1) signature hashes: every line end as CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def uid_hash(uid: bytes) -> bytes:
    return b"\xb4" + struct.pack(">I", len(uid)) + uid


@dataclass
class Cert:
    """A primary key with user ids and subkeys, bound as `build` says."""

    primary: Key
    uids: list[bytes] = field(default_factory=list)
    subkeys: list[Key] = field(default_factory=list)

    def selfsig(self, uid: bytes, when: int, flags: int = 0x03, expires: int | None = None,
                kind: int = 0x13) -> bytes:
        hashed = created(when) + self.primary.issuer() + sub(27, bytes([flags]))
        if expires is not None:
            hashed += sub(9, struct.pack(">I", expires - self.primary.when))
        return packet(2, signature(self.primary, kind, self.primary.keyhash() + uid_hash(uid),
                                   hashed, self.primary.issuer_id()))

    def binding(self, key: Key, when: int, flags: int = 0x02, backsig: bool = True,
                binder: Key | None = None, expires: int | None = None) -> bytes:
        """A subkey binding (0x18) by the primary (or `binder`), with the subkey's back
        signature (0x19) embedded when `backsig`."""
        binder = binder or self.primary
        prefix = self.primary.keyhash() + key.keyhash()
        hashed = created(when) + binder.issuer() + sub(27, bytes([flags]))
        if expires is not None:
            hashed += sub(9, struct.pack(">I", expires - key.when))
        if backsig:
            back = signature(key, 0x19, prefix, created(when) + key.issuer(), key.issuer_id())
            hashed += sub(32, back)
        return packet(2, signature(binder, 0x18, prefix, hashed, binder.issuer_id()))

    def revocation(self, when: int, reason: int = 0, subkey: Key | None = None) -> bytes:
        hashed = created(when) + self.primary.issuer() + sub(29, bytes([reason]))
        if subkey is None:
            return packet(2, signature(self.primary, 0x20, self.primary.keyhash(), hashed,
                                       self.primary.issuer_id()))
        return packet(2, signature(self.primary, 0x28, self.primary.keyhash() + subkey.keyhash(),
                                   hashed, self.primary.issuer_id()))


def public_packet(key: Key, sub_key: bool = False) -> bytes:
    return packet(14 if sub_key else 6, key.body)


def secret_packet(key: Key, sub_key: bool = False) -> bytes:
    return packet(7 if sub_key else 5, key.secret_body())


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def armor(data: bytes, what: str = "SIGNATURE", headers: tuple[str, ...] = (),
          checksum: bool = True, width: int = 64) -> bytes:
    b64 = base64.b64encode(data).decode()
    lines = [f"-----BEGIN PGP {what}-----", *headers, ""]
    lines += [b64[i:i + width] for i in range(0, len(b64), width)]
    if checksum:
        lines.append("=" + base64.b64encode(crc24(data).to_bytes(3, "big")).decode())
    lines.append(f"-----END PGP {what}-----")
    return ("\n".join(lines) + "\n").encode()


def packets(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of each packet of binary `data` (definite lengths)."""
    out, pos = [], 0
    while pos < len(data):
        ctb = data[pos]
        if ctb & 0x40:
            tag, first = ctb & 0x3F, data[pos + 1]
            if first < 192:
                hlen, n = 2, first
            elif first < 224:
                hlen, n = 3, ((first - 192) << 8) + data[pos + 2] + 192
            else:
                hlen, n = 6, struct.unpack(">I", data[pos + 2:pos + 6])[0]
        else:
            tag, lt = (ctb >> 2) & 0x0F, ctb & 3
            size = {0: 1, 1: 2, 2: 4}[lt]
            hlen, n = 1 + size, int.from_bytes(data[pos + 1:pos + 1 + size], "big")
        out.append((tag, data[pos + hlen:pos + hlen + n]))
        pos += hlen + n
    return out


def from_secret_export(data: bytes) -> list[Key]:
    """The unprotected Ed25519 keys (primary and subkeys) of a binary secret key export
    (`gpg --export-secret-keys`, no passphrase)."""
    keys = []
    for tag, body in packets(data):
        if tag not in (5, 7) or body[5] != EDDSA:
            continue
        when = struct.unpack(">I", body[1:5])[0]
        oid_len = body[6]
        pos = 7 + oid_len
        bits = struct.unpack(">H", body[pos:pos + 2])[0]
        pos += 2 + (bits + 7) // 8
        assert body[pos] == 0, "protected secret key"
        pos += 1
        bits = struct.unpack(">H", body[pos:pos + 2])[0]
        seed = body[pos + 2:pos + 2 + (bits + 7) // 8].rjust(32, b"\0")
        keys.append(Key(Ed25519PrivateKey.from_private_bytes(seed), when))
    return keys
