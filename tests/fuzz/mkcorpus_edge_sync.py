#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the frame seeds of fuzz_edge_sync.c into corpus/edge_sync/.

The frames are made from edge_sync.h's documented layout alone, with
Python's `cryptography`, as the target opens them: from its peer 10.0.0.2,
under its secret, at its time NOW.  The boot is fixed so that every run
writes the same bytes (AES-GCM's nonce is the counter: no randomness).
delete-payload (a delete's payload, no frame) is not written here;
hello-payload (a hello's, no frame) is.  Run from anywhere: it writes
beside itself.
"""
import os
import socket
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET = b"tunsteer-edge fuzz secret 32 by!"
NOW = 1700000000000
MAX_AGE_MS = 30000
PEER = socket.inet_aton("10.0.0.2")
BOOT = 0x0123456789ABCDEF
SA, DEL, HELLO = 1, 2, 3
ASK, DONE = 1, 2
HDR = 28

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "corpus", "edge_sync")

# check_edge_sync.c's fill_record(), as sarec_encode() writes it.
RECORD = bytes.fromhex(
    "5453534101000b63757374312d69707365630565646765310102030405060708"
    "c1a2b3c40000100074650001000000070000000000000e10c0000201c6336402"
    "00000000001401000000010104000000000004100a0100002410111213141516"
    "1718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233808182"
    "838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2"
    "a300")


def key_of(sender, boot):
    info = b"sa-propagation v1" + sender + struct.pack(">Q", boot)
    return HKDF(hashes.SHA256(), 32, b"tunsteer-edge", info).derive(SECRET)


def frame(ftype, counter, time_ms, payload, sender=PEER, boot=BOOT):
    hdr = (b"TSSP" + struct.pack(">BBH", 1, ftype, len(payload)) + sender +
           struct.pack(">QQ", boot, counter))
    assert len(hdr) == HDR
    nonce = bytes(4) + struct.pack(">Q", counter)
    return hdr + AESGCM(key_of(sender, boot)).encrypt(
        nonce, struct.pack(">Q", time_ms) + payload, hdr)


def main():
    with open(os.path.join(CORPUS, "delete-payload"), "rb") as f:
        delete = f.read()
    good = frame(DEL, 2, NOW, delete)
    bad_tag = bytearray(good)
    bad_tag[-1] ^= 1
    seeds = {
        "sa-record": frame(SA, 1, NOW, RECORD),
        "delete": good,
        "delete-bad-tag": bytes(bad_tag),
        "delete-stale": frame(DEL, 3, NOW - MAX_AGE_MS - 1, delete),
        # Another server's frame, under its own key: not from the peer.
        "delete-other-sender": frame(DEL, 1, NOW, delete,
                                     sender=socket.inet_aton("10.0.0.3")),
        # Cut inside the ciphertext: the length field disagrees.
        "truncated": good[:HDR + 6],
        # The resync's hello: u8 kind, u8 zero, u32 epoch.
        "hello-ask": frame(HELLO, 4, NOW, struct.pack(">BBI", ASK, 0,
                                                      0xA1B2C3D4)),
        "hello-done": frame(HELLO, 5, NOW, struct.pack(">BBI", DONE, 0,
                                                       0xA1B2C3D4)),
        # Sealed right, but a hello is 6 bytes: malformed.
        "hello-bad-length": frame(HELLO, 6, NOW,
                                  struct.pack(">BBIB", ASK, 0, 1, 0)),
        "hello-payload": struct.pack(">BBI", ASK, 0, 0xA1B2C3D4),
    }
    for name, data in seeds.items():
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
