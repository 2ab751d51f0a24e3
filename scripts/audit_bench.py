#!/usr/bin/env python3
"""`ixi-link audit` beside `ixi-verifier verify` on the same RSA items, in the same run.

Starts `ixi-link simnode` with 1000-signature blocks (no corruption; one block a day, so the
node is idle once its warm-up history is made), audits that history with `ixi-link audit
--threads 1`, and verifies the same items with `ixi-verifier verify --threads 1`, ROUNDS times
each, interleaved. The verify lines are built here from the node's JSON with Python's own
SHA3 (the block signature message is sha3_512sq(blockChecksum || solution); a transaction's is
its checksum, by its key or its sender wallet's), so they are what the audit must verify.

    scripts/audit_bench.py [--bin DIR] [--rounds N] [--transactions N] [--json]

Prints blocks/s and signatures/s of both and the ratio audit/verify (the issue's goal: 0.8).
"""

import argparse
import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text):
    n = 0
    for ch in text:
        n = n * 58 + B58.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def sha3_512sq(data):
    return hashlib.sha3_512(hashlib.sha3_512(data).digest()).digest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, method, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    with urllib.request.urlopen(f"{url}/{method}?{query}", timeout=60) as r:
        answer = json.loads(r.read())
    if answer.get("error"):
        raise RuntimeError(f"{method} {params}: {answer['error']}")
    return answer["result"]


def listed(value):
    """A list that may arrive double-encoded (a JSON string holding a JSON array)."""
    return json.loads(value) if isinstance(value, str) else value


def verify_lines(url, first, last):
    """One `ixi-verifier verify` line per RSA item the audit of first..=last verifies."""
    lines, wallets = [], {}
    for num in range(first, last + 1):
        block = call(url, "getfullblock", num=num)
        checksum = bytes.fromhex(block["Block Checksum"])
        for s in listed(block["Signatures"]):
            pow_ = s["powSolution"]
            solution = base64.b64decode(pow_["solution"])
            lines.append({
                "publicKey": base64.b64decode(pow_["signingPubKey"]).hex(),
                "message": sha3_512sq(checksum + solution).hex(),
                "signature": base64.b64decode(s["signature"]).hex(),
            })
        for t in listed(block.get("Transactions", "[]")):
            if int(t["type"]) in (2, 3):
                continue
            key = b58decode(t["pubKey"])
            if len(key) < 100:  # an address: the sender wallet's key
                if t["pubKey"] not in wallets:
                    wallets[t["pubKey"]] = call(url, "getwallet", id=t["pubKey"])["publicKey"]
                key_hex = wallets[t["pubKey"]]
            else:
                key_hex = key.hex()
            lines.append({"publicKey": key_hex, "message": t["checksum"],
                          "signature": t["signature"]})
    return "".join(json.dumps(l) + "\n" for l in lines).encode(), len(lines)


def timed(cmd, stdin=None):
    started = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    return seconds, done


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default="target/release", help="folder with the binaries")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--transactions", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    link = os.path.join(args.bin, "ixi-link")
    verifier = os.path.join(args.bin, "ixi-verifier")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    node = subprocess.Popen(
        [link, "simnode", "--listen", f"127.0.0.1:{port}", "--block-signatures", "1000",
         "--transactions", str(args.transactions), "--corrupt-percent", "0",
         "--block-seconds", "86400"],
        stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 300
        while True:
            log.seek(0)
            if b"chain ready" in log.read():
                break
            if node.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                sys.exit(f"the simulated node did not get ready:\n{log.read().decode()}")
            time.sleep(0.2)
        height = call(url, "getblockcount")
        # The warm-up history: every block that carries signatures.
        first = height
        while first > 0 and listed(call(url, "getblock", num=first - 1)["Signatures"]):
            first -= 1
        blocks = height - first + 1
        lines, items = verify_lines(url, first, height)
        audit_cmd = [link, "audit", "--node", url, "--from", str(first), "--to", str(height),
                     "--threads", "1", "--json"]
        verify_cmd = [verifier, "verify", "--threads", "1"]
        audits, verifies = [], []
        for _ in range(args.rounds):
            seconds, done = timed(audit_cmd)
            summary = json.loads(done.stdout.decode().strip().splitlines()[-1])["summary"]
            checked = summary["blockSignatures"] + summary["transactions"]
            if done.returncode != 0 or checked != items or summary["findings"]:
                sys.exit(f"audit: exit {done.returncode}, {checked} items of {items}, "
                         f"summary {summary}: {done.stderr.decode()[-2000:]}")
            audits.append(seconds)
            seconds, done = timed(verify_cmd, lines)
            verdicts = [json.loads(l) for l in done.stdout.decode().splitlines()]
            if done.returncode != 0 or len(verdicts) != items or not all(
                    v.get("valid") for v in verdicts):
                sys.exit(f"verify: exit {done.returncode}, {len(verdicts)} verdicts of {items}")
            verifies.append(seconds)
    finally:
        node.terminate()
        node.wait()
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ratios = sorted(v / a for a, v in zip(audits, verifies))
    report = {
        "cpu": cpu,
        "blocks": blocks,
        "items": items,
        "auditSeconds": sorted(audits),
        "verifySeconds": sorted(verifies),
        "auditBlocksPerSecond": blocks / min(audits),
        "auditSignaturesPerSecond": items / min(audits),
        "verifySignaturesPerSecond": items / min(verifies),
        "ratioBest": min(verifies) / min(audits),
        "ratioPerRound": ratios,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{cpu}: {blocks} blocks, {items} RSA items, {args.rounds} rounds each")
        print(f"audit  best {min(audits):.3f} s: {report['auditBlocksPerSecond']:.1f} blocks/s, "
              f"{report['auditSignaturesPerSecond']:.0f} signatures/s")
        print(f"verify best {min(verifies):.3f} s: "
              f"{report['verifySignaturesPerSecond']:.0f} signatures/s")
        print(f"audit/verify (best of each) {report['ratioBest']:.2f}x; per round "
              + ", ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
