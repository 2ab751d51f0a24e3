#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/<target>/ from real encodings: the vectors of
tests/data/ixian-reference.json (keys, varints, numbers, PoW solutions, RSA lines), link frames
encoded as ixi-link-proto encodes them, and, with --node URL, JSON answers of a running node API
(`ixi-link simnode`). A few files per target; the fuzzer grows its own corpus in fuzz/work/.

  scripts/fuzz-seeds.py [--node http://127.0.0.1:PORT]
"""

import argparse
import base64
import json
import os
import struct
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


# --- link frames (link/proto/src/codec.rs, message.rs) ---------------------------------------
def frame(code, payload):
    return b"IXL" + bytes([1, code, 0]) + struct.pack("<I", len(payload)) + payload


def bstr(b):
    return struct.pack("<I", len(b)) + b


def hello(role, name="seed", backends=("soft",), rate=1000.0):
    p = bytes([role, 1]) + bstr(name.encode()) + struct.pack("<H", len(backends))
    for b in backends:
        p += bstr(b.encode())
    return frame(1, p + struct.pack("<d", rate))


def welcome(session_id, prefix):
    return frame(2, struct.pack("<Q", session_id) + bstr(prefix))


def job(job_id, height, prefix, min_raw, best_raw, replace):
    return frame(3, struct.pack("<QQ", job_id, height) + bstr(prefix) + bstr(min_raw)
                 + bstr(best_raw) + bytes([replace]))


def solution(job_id, nonce):
    return frame(4, struct.pack("<Q", job_id) + bstr(nonce))


def verify_batch(batch_id, items):
    p = struct.pack("<QI", batch_id, len(items))
    for key, msg, sig in items:
        p += bstr(key) + bstr(msg) + bstr(sig)
    return frame(6, p)


def verify_result(batch_id, verdicts):
    packed = bytearray((len(verdicts) + 7) // 8)
    for i, v in enumerate(verdicts):
        packed[i // 8] |= int(v) << (i % 8)
    return frame(7, struct.pack("<QI", batch_id, len(verdicts)) + bytes(packed))


def heartbeat(ms):
    return frame(9, struct.pack("<Q", ms))


def stats(done, rate):
    return frame(10, struct.pack("<Qd", done, rate))


def error(code, text):
    return frame(11, struct.pack("<H", code) + bstr(text.encode()))


def raw_le(n):
    """An IxiNumber's raw amount as little-endian two's complement bytes."""
    return n.to_bytes(max(1, (n.bit_length() + 8) // 8), "little", signed=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--node", help="a running node API to take JSON answers from")
    a = ap.parse_args()
    ref = json.load(open(os.path.join(ROOT, "tests", "data", "ixian-reference.json")))
    pow0 = ref["pow"][0]
    rsa0 = next(r for r in ref["rsa"] if r["expected"] in (True, "True"))
    key = bytes.fromhex(rsa0["publicKey"])
    prefix = bytes.fromhex(pow0["challengeData"])[:-len(bytes.fromhex(pow0["solution"]))] \
        if pow0["challengeData"].endswith(pow0["solution"]) else bytes.fromhex(pow0["challengeData"])

    miner = [hello(1), welcome(7, b"\x01\x02"), job(1, 100, prefix, raw_le(10**8), raw_le(0), 1),
             solution(1, bytes.fromhex(pow0["solution"])), heartbeat(1234), stats(10, 50.5)]
    verifier = [hello(2, backends=("ifma", "scalar")), welcome(8, b""),
                verify_batch(5, [(key, bytes.fromhex(rsa0["input"]), bytes.fromhex(rsa0["signature"]))]),
                verify_result(5, [True]), error(3, "bye")]
    put("link_frame", "miner-session", b"\x07" + b"".join(miner))
    put("link_frame", "verifier-session", b"\x01" + b"".join(verifier))
    put("link_frame", "verify-result", b"\x40" + verify_result(9, [True, False, True] * 3))
    # link_session, hostile mode (first byte even): mode byte (bit 0: worker), then steps of
    # (length, time step, bytes).
    def steps(frames):
        out = b""
        for f in frames:
            for i in range(0, len(f), 255):
                part = f[i:i + 255]
                out += bytes([len(part), 1]) + part
        return out
    put("link_session", "link-hears-miner", b"\x00\x00" + steps([hello(1), solution(1, b"\x01\x02"), heartbeat(5)]))
    put("link_session", "worker-hears-link", b"\x00\x01" + steps([welcome(1, b"\x09"), job(2, 7, prefix, raw_le(5), raw_le(0), 0)]))
    put("link_session", "verifier-hears-batch", b"\x00\x03" + steps(verifier[1:3]))
    # Paired mode (first byte odd): role byte, then (selector, frame) steps.
    put("link_session", "paired-miner", b"\x01\x00" + b"\x00" + job(3, 9, prefix, raw_le(10), raw_le(0), 1)
        + b"\x01" + solution(3, b"\x05\x06") + b"\x10" + heartbeat(1))
    put("link_session", "paired-verifier", b"\x01\x01" + b"\x00" + verifier[2] + b"\x01" + verify_result(5, [True]))

    for i, k in enumerate(ref["rsa_key_serialization"][:4]):
        put("ixian_pubkey", f"reference-{i}", bytes.fromhex(k["ixianPublicKey"]))

    for i, v in enumerate(ref["ixivarint"][::6]):
        put("ixi_numbers", f"varint-{i}", b"\x00" + bytes.fromhex(v["encoded"]))
    for i, n in enumerate(ref["ixinumber"][:4]):
        put("ixi_numbers", f"number-{i}", b"\x01" + n["toString"].encode())
        put("ixi_numbers", f"number-raw-{i}", b"\x01" + raw_le(int(n["raw"])))
    for i, p in enumerate(ref["pow"][:3]):
        put("ixi_numbers", f"hash-min-{i}", b"\x02" + bytes.fromhex(p["hash"]) + raw_le(10**8))

    def varint(n):  # the reference's IxiVarInt (see the "ixivarint" vectors)
        if n < 0xf8:
            return bytes([n])
        if n < 1 << 16:
            return b"\xfc" + struct.pack("<H", n)
        if n < 1 << 32:
            return b"\xfd" + struct.pack("<I", n)
        return b"\xfe" + struct.pack("<Q", n)
    for i, p in enumerate(ref["pow"][:4]):
        key_part = bytes.fromhex(p["signingPubKey"])[:64]
        nonce = bytes.fromhex(p["solution"])
        block = int(p["blockNum"])
        put("pow_solution", f"reference-{i}", varint(block) + varint(len(nonce)) + nonce + varint(len(key_part)) + key_part)

    fields = ["blockNum", "blockHash", "recipientAddress", "signingPubKey", "solution"]
    lines = [json.dumps({f: p[f] for f in fields}) for p in ref["pow"][:3]]
    put("hash_line", "reference", "\n".join(lines) + "\n")
    put("hash_line", "mixed", lines[0] + "\nnot json\n" + json.dumps({"blockNum": 1}) + "\n")

    for i, r in enumerate(ref["rsa"][:3]):
        put("verify_line", f"ixian-{i}", json.dumps({"publicKey": r["publicKey"], "message": r["input"],
                                                     "signature": r["signature"]}))
    k = ref["rsa_key_serialization"][0]
    put("verify_line", "components", json.dumps({"modulus": k["modulus"], "exponent": k["exponent"],
                                                 "message": "00", "signature": "00"}))

    put("node_http_response", "content-length",
        'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n{"result":null,"error":null,"id":1}\n')
    put("node_http_response", "chunked",
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"res\r\n1a\r\nult":1,"error":null,"id":1}\r\n0\r\n\r\n')
    put("node_http_response", "error-500", "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!")

    if a.node:
        def call(query):
            with urllib.request.urlopen(f"{a.node}/{query}", timeout=10) as r:
                return json.loads(r.read())["result"]
        put("node_api_json", "challenge", b"\x00" + json.dumps(call("getSigningChallenge")).encode())
        put("node_api_json", "status-vv", b"\x01" + json.dumps(call("status?vv=1")).encode())
        height = int(call("getblockcount"))

        def small(block):
            """The block with its lists cut to a few entries, kept in their encoding (a
            double-encoded string stays a string), so that the seed stays a few KB."""
            for name, keep in (("Signatures", 3), ("Frozen Signatures", 3), ("Transactions", 2)):
                value = block.get(name)
                if isinstance(value, str):
                    block[name] = json.dumps(json.loads(value)[:keep])
                elif isinstance(value, list):
                    block[name] = value[:keep]
            return block
        block = small(call(f"getfullblock?num={height - 2}"))
        put("node_api_json", "fullblock", b"\x02" + json.dumps(block).encode())
        put("node_api_json", "block", b"\x02" + json.dumps(small(call(f"getblock?num={height - 3}"))).encode())
        sigs = block.get("Signatures")
        put("node_api_json", "signatures", b"\x03" + (sigs if isinstance(sigs, str) else json.dumps(sigs)).encode())
        address = json.loads(sigs)[0].get("recipientAddress") if isinstance(sigs, str) else None
        if address:
            put("node_api_json", "wallet", b"\x02" + json.dumps(call(f"getwallet?id={address}")).encode())


if __name__ == "__main__":
    main()
