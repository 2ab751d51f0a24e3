#!/usr/bin/env python3
"""Counts what the link's processes did from their JSON log lines (--log-format json), for
scripts/soak.sh and scripts/faults.sh: every solution a miner found, what the link and the node
made of it, every verification batch and block audited, and the processes' memory and file
descriptors over time. Prints a JSON report; exits 1 when a solution or batch was lost.

  link_evidence.py --miner LOG... --link LOG... --node LOG... [--verifier LOG...]
                   [--samples CSV] [--ledger FILE --audit-log FILE] [--require-solutions N]

Each --link LOG is one life of the link (one process, from start to kill or stop), in order.
"""

import argparse
import collections
import csv
import json
import sys


def events(path):
    """The log's JSON lines as (message, fields) pairs; other lines are skipped."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            fields = record.get("fields", record)
            yield fields.get("message", ""), fields


def solutions(miner_logs, link_logs, node_logs):
    found = {}  # nonce -> the miner's line
    verdicts = collections.defaultdict(list)  # nonce -> verdicts the miner heard
    for path in miner_logs:
        for message, f in events(path):
            if message.startswith("solution found"):
                found[f["nonce"]] = {"job_id": f.get("job_id"), "block": f.get("block"),
                                     "while_offline": f.get("connected") is False,
                                     "log": path}
            elif "verdict" in f and "nonce" in f:
                verdicts[f["nonce"]].append(f["verdict"])
    forwarded = collections.defaultdict(set)  # nonce -> blocks the link forwarded it for
    link_outcome = {}
    for path in link_logs:
        for message, f in events(path):
            if message == "forwarding a solution":
                forwarded[f["nonce"]].add(f["block_height"])
            elif message in ("the node took a solution", "the node did not take a solution"):
                link_outcome[f["nonce"]] = "taken" if "took" in message else f.get("reason")
    judged = collections.defaultdict(list)  # nonce -> (block, verdict, against)
    for path in node_logs:
        for message, f in events(path):
            if message == "judged a submitted solution":
                judged[f["nonce"]].append(
                    {"block": f["block"], "verdict": str(f["verdict"]),
                     "judged_against": f.get("judged_against", f["block"]),
                     "difficulty": f.get("difficulty")})

    # No verdict came back to the miner: lost unless the node judged it (the miner stopped, or
    # its link was away, before the answer reached it).
    unanswered = sorted(n for n in found if not verdicts.get(n) and n not in judged)
    verdict_not_heard = sorted(n for n in found if not verdicts.get(n) and n in judged)
    by_verdict = collections.Counter(v[-1] for v in verdicts.values() if v)
    accepted = [n for n, v in verdicts.items() if "accepted" in v]
    accepted_not_stored = sorted(
        n for n in accepted if not any(j["verdict"] == "Stored" for j in judged.get(n, [])))
    forwarded_not_judged = sorted(n for n in forwarded if n not in judged)
    wrong_block = sorted(
        n for n, js in judged.items()
        if n in forwarded and any(j["judged_against"] not in forwarded[n] for j in js))
    unknown_verdicts = sorted(n for n in verdicts if n not in found)
    offline = [n for n, f in found.items() if f["while_offline"]]
    offline_reached = [n for n in offline if n in judged]
    offline_not_reached = {
        n: verdicts.get(n, ["none"])[-1] for n in offline if n not in judged}
    lost = unanswered + accepted_not_stored + forwarded_not_judged + wrong_block
    return {
        "found": len(found),
        "foundWhileLinkAway": len(offline),
        "foundWhileLinkAwayJudgedByNode": len(offline_reached),
        "foundWhileLinkAwayAnsweredByLink": collections.Counter(offline_not_reached.values()),
        "verdictsAtMiner": dict(by_verdict),
        "forwardedByLink": len(forwarded),
        "judgedByNode": len(judged),
        "storedByNode": sum(1 for js in judged.values() if any(j["verdict"] == "Stored" for j in js)),
        "unanswered": unanswered,
        "judgedByNodeButVerdictNotHeardByMiner": len(verdict_not_heard),
        "acceptedButNotStoredByNode": accepted_not_stored,
        "forwardedButNeverJudged": forwarded_not_judged,
        "judgedAgainstAnotherBlock": wrong_block,
        "verdictsForNoncesNotFound": unknown_verdicts,
        "lost": len(lost),
    }


def batches(link_logs, verifier_logs):
    lives = []
    audited = set()
    for path in link_logs:
        dispatched, answered, redispatched, late = set(), set(), set(), 0
        blocks = set()
        for message, f in events(path):
            if message == "batch dispatched":
                dispatched.add(f["batch_id"])
            elif message == "batch answered":
                answered.add(f["batch_id"])
            elif message == "batch re-dispatched":
                redispatched.add(f["batch_id"])
            elif message == "late answer ignored":
                late += 1
            elif message == "block audited":
                blocks.add(f["block"])
        in_flight = dispatched - answered - redispatched
        lives.append({"log": path, "dispatched": len(dispatched), "answered": len(answered),
                      "redispatched": len(redispatched), "lateAnswers": late,
                      "inFlightAtEnd": len(in_flight), "blocksAudited": len(blocks),
                      "firstBlock": min(blocks, default=None),
                      "lastBlock": max(blocks, default=None)})
        audited |= blocks
    received, verified, dropped = 0, 0, 0
    for path in verifier_logs:
        for message, f in events(path):
            if message == "batch received":
                received += 1
            elif message == "batch verified":
                verified += 1
            elif "finished after its session ended" in message:
                dropped += 1
    gaps = []
    if audited:
        lo, hi = min(audited), max(audited)
        gaps = [b for b in range(lo, hi + 1) if b not in audited]
    # A batch is lost when neither its verdicts nor its re-dispatch came while the link lived;
    # only the batches in flight when a link life ended may be unanswered (at most two per
    # verifier, the in-flight limit).
    lost = sum(max(0, life["inFlightAtEnd"] - 2) for life in lives)
    return {
        "lives": lives,
        "dispatched": sum(x["dispatched"] for x in lives),
        "answered": sum(x["answered"] for x in lives),
        "redispatched": sum(x["redispatched"] for x in lives),
        "inFlightWhenALinkEnded": sum(x["inFlightAtEnd"] for x in lives),
        "verifierReceived": received,
        "verifierVerified": verified,
        "verifierResultsDroppedWithTheirSession": dropped,
        "blocksAudited": len(audited),
        "blocksNotAuditedBetweenFirstAndLast": gaps,
        "lost": lost + (received - verified if received > verified else 0),
    }


def audited_items(path, audited):
    """(block, kind, index) of each JSON line of a file (the node's ledger of corruptions, or
    the link's audit log of findings) whose block is among the audited ones."""
    items = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                c = json.loads(line)
                if c["block"] in audited:
                    items.add((c["block"], c["kind"], c["index"]))
    return items


def findings(ledger_path, audit_log_path, audited):
    """The link's findings against the simulated node's ledger, over the audited blocks."""
    truth = audited_items(ledger_path, audited)
    found = audited_items(audit_log_path, audited)
    return {"corruptedItemsAudited": len(truth), "findings": len(found),
            "missed": len(truth - found), "false": len(found - truth)}


def resources(samples_path):
    """First, middle, last and largest RSS (KiB) and open fds per process name (a restarted
    process keeps its name: its lives are told apart by pid)."""
    per = collections.defaultdict(list)
    with open(samples_path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            per[row["process"]].append(row)
    out = {}
    for name, rows in per.items():
        rss = [int(r["rss_kib"]) for r in rows if r["rss_kib"]]
        fds = [int(r["fds"]) for r in rows if r["fds"]]
        out[name] = {"samples": len(rows), "lives": len({r["pid"] for r in rows}),
                     "rssKiB": {"first": rss[0] if rss else None,
                                "middle": rss[len(rss) // 2] if rss else None,
                                "last": rss[-1] if rss else None,
                                "max": max(rss, default=None)},
                     "fds": {"first": fds[0] if fds else None,
                             "middle": fds[len(fds) // 2] if fds else None,
                             "last": fds[-1] if fds else None,
                             "max": max(fds, default=None)}}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--miner", nargs="+", default=[])
    p.add_argument("--link", nargs="+", default=[])
    p.add_argument("--node", nargs="+", default=[])
    p.add_argument("--verifier", nargs="*", default=[])
    p.add_argument("--samples")
    p.add_argument("--ledger")
    p.add_argument("--audit-log")
    p.add_argument("--require-solutions", type=int, default=1,
                   help="fewer solutions found than this is a failure (nothing was tested)")
    a = p.parse_args()
    report = {"solutions": solutions(a.miner, a.link, a.node)}
    failed = report["solutions"]["lost"] > 0
    if report["solutions"]["found"] < a.require_solutions:
        report["solutions"]["error"] = f"fewer than {a.require_solutions} solutions found"
        failed = True
    if a.verifier:
        report["batches"] = batches(a.link, a.verifier)
        failed |= report["batches"]["lost"] > 0
        if a.ledger and a.audit_log:
            lives_audited = set()
            for path in a.link:
                lives_audited |= {f["block"] for m, f in events(path) if m == "block audited"}
            report["findings"] = findings(a.ledger, a.audit_log, lives_audited)
            failed |= report["findings"]["missed"] > 0 or report["findings"]["false"] > 0
    if a.samples:
        report["resources"] = resources(a.samples)
    report["ok"] = not failed
    json.dump(report, sys.stdout, indent=1, default=list)
    print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
