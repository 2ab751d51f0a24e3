//! `ixi-standin-node`: an HTTP stand-in of an Ixian node's signing API that keeps its chain
//! across restarts, for `scripts/faults.sh`.
//!
//! ```text
//! ixi-standin-node --listen ADDR --state FILE --judgments FILE [--block-seconds S]
//!                  [--min-difficulty UNITS]
//! ```
//!
//! The chain is a function of the state file (a seed and a start time) and the clock: block
//! `first + floor(elapsed / S)` is current, and every block's challenge is derived from the
//! seed and its height, so a restarted stand-in serves the same chain and can judge a solution
//! against the block it was mined for, however old. `getSigningChallenge`,
//! `submitSigningSolution`, `status` (`vv` with the last stored solution) and `getblockcount`
//! answer in the node's shapes. Every submission is judged as the reference judges external
//! solutions (current block only, at least the minimum, better than the stored one), its hash
//! recomputed here with the `sha3` crate, and written as one JSON line to the judgments file
//! (flushed before the answer goes out): `{"fields": {"message": "judged a submitted solution",
//! "block", "nonce", "verdict", "reason", "judged_against", "mined_for_block", "current",
//! "difficulty"}}` (`mined_for_block`: the nonce meets the minimum on that block's challenge).

// A test tool: a failed set-up is a panic with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ixi_formats::difficulty::hash_to_difficulty;
use ixi_formats::number::IxiNumber;
use ixi_formats::solution::challenge_prefix;
use serde_json::{Value, json};
use sha3::{Digest as _, Sha3_512};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;

struct Options {
    listen: SocketAddr,
    state: PathBuf,
    judgments: PathBuf,
    block_seconds: f64,
    min: IxiNumber,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| ixi_test_support::cli::flag_value(&args, name);
    let required = |name: &str| value(name).unwrap_or_else(|| panic!("{name} is required"));
    Options {
        listen: required("--listen").parse().expect("--listen ADDR"),
        state: required("--state").into(),
        judgments: required("--judgments").into(),
        block_seconds: value("--block-seconds").map_or(60.0, |s| s.parse().expect("seconds")),
        min: value("--min-difficulty")
            .unwrap_or_else(|| "10000000".into())
            .parse()
            .expect("--min-difficulty UNITS"),
    }
}

/// What survives a restart.
#[derive(Debug, Clone)]
struct Chain {
    seed: [u8; 32],
    /// Milliseconds since the Unix epoch when block `first` began.
    start_ms: u64,
    first: u64,
    /// Best stored solution per block: nonce and difficulty (raw).
    stored: BTreeMap<u64, (Vec<u8>, String)>,
    last: Option<(u64, Vec<u8>, String)>,
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

impl Chain {
    fn load_or_create(path: &Path) -> Self {
        if let Ok(text) = std::fs::read_to_string(path) {
            let v: Value = serde_json::from_str(&text).expect("state file is JSON");
            let stored = v["stored"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(h, s)| {
                    (
                        h.parse().unwrap(),
                        (
                            hex::decode(s[0].as_str().unwrap()).unwrap(),
                            s[1].as_str().unwrap().to_owned(),
                        ),
                    )
                })
                .collect();
            let last = v["last"].as_array().map(|l| {
                (
                    l[0].as_u64().unwrap(),
                    hex::decode(l[1].as_str().unwrap()).unwrap(),
                    l[2].as_str().unwrap().to_owned(),
                )
            });
            return Self {
                seed: hex::decode(v["seed"].as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap(),
                start_ms: v["start_ms"].as_u64().unwrap(),
                first: v["first"].as_u64().unwrap(),
                stored,
                last,
            };
        }
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&now_ms().to_le_bytes());
        seed[8..16].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
        let chain = Self {
            seed: Sha3_512::digest(seed)[..32].try_into().unwrap(),
            start_ms: now_ms(),
            first: 2_000_000,
            stored: BTreeMap::new(),
            last: None,
        };
        chain.save(path);
        chain
    }

    fn save(&self, path: &Path) {
        let stored: serde_json::Map<String, Value> = self
            .stored
            .iter()
            .map(|(h, (n, d))| (h.to_string(), json!([hex::encode(n), d])))
            .collect();
        let v = json!({
            "seed": hex::encode(self.seed),
            "start_ms": self.start_ms,
            "first": self.first,
            "stored": stored,
            "last": self.last.as_ref().map(|(h, n, d)| json!([h, hex::encode(n), d])),
        });
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, v.to_string()).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    fn height(&self, block_seconds: f64) -> u64 {
        let elapsed = now_ms().saturating_sub(self.start_ms) as f64 / 1000.0;
        // Far below 2^53 seconds.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let blocks = (elapsed / block_seconds) as u64;
        self.first + blocks
    }

    /// Block `height`'s challenge prefix: its checksum, the node's address and a signing key
    /// that changes every 10 blocks, all derived from the seed.
    fn prefix(&self, height: u64) -> Vec<u8> {
        let derive = |label: &[u8], n: u64| {
            let mut h = Sha3_512::new();
            h.update(self.seed);
            h.update(label);
            h.update(n.to_le_bytes());
            h.finalize().to_vec()
        };
        let checksum = derive(b"block", height);
        let address = &derive(b"address", 0)[..44];
        let mut key = derive(b"key", height / 10);
        key.extend(derive(b"key2", height / 10));
        challenge_prefix(height, &checksum, &[&[2u8][..], address].concat(), &key)
    }
}

struct Node {
    options: Options,
    chain: Mutex<Chain>,
    judgments: Mutex<std::fs::File>,
}

fn raw_amount(n: &IxiNumber) -> Value {
    let text = n.raw().to_string();
    text.parse::<u64>().map_or(Value::String(text), Value::from)
}

impl Node {
    fn answer(&self, target: &str) -> (u16, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let params: BTreeMap<&str, String> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k, percent_decode(v)))
            .collect();
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut chain = self.chain.lock().unwrap();
        let height = chain.height(self.options.block_seconds);
        match path.trim_start_matches('/') {
            "getSigningChallenge" => (
                200,
                json!({
                    "Item1": b64.encode(chain.prefix(height)),
                    "Item2": {"amount": raw_amount(&self.options.min)},
                    "Item3": height,
                }),
            ),
            "submitSigningSolution" => {
                let block = params
                    .get("blockHeight")
                    .and_then(|h| h.parse::<u64>().ok());
                let nonce = params.get("solution").and_then(|s| b64.decode(s).ok());
                let (Some(block), Some(nonce)) = (block, nonce) else {
                    return (500, json!("Invalid params"));
                };
                self.judge(&mut chain, height, block, &nonce);
                (200, Value::Null)
            }
            "status" => {
                let mut status =
                    json!({"DLT Status": "Active", "Block Height": height.to_string()});
                if params.contains_key("vv")
                    && let Some((h, n, d)) = &chain.last
                {
                    status["Signer Last PoW Solution"] = json!({
                        "blockNum": h, "solution": b64.encode(n), "difficulty": d,
                    });
                }
                (200, status)
            }
            "getblockcount" => (200, json!(height)),
            _ => (404, json!("Method not found")),
        }
    }

    /// The reference's `ProcessExternalSolution`, with the hash computed against the block the
    /// solution names, whatever block is current.
    fn judge(&self, chain: &mut Chain, current: u64, block: u64, nonce: &[u8]) {
        let mut data = chain.prefix(block);
        data.extend_from_slice(nonce);
        let hash = Sha3_512::digest(Sha3_512::digest(&data));
        let difficulty = hash_to_difficulty(&hash).ok();
        let (verdict, reason) = if nonce.len() <= 1 || nonce.len() > 64 {
            ("Ignored", "invalid nonce")
        } else if block != current {
            ("Ignored", "not the current block")
        } else if hash[62] != 0 || hash[63] != 0 {
            ("Ignored", "pre-filter")
        } else if difficulty.as_ref().is_none_or(|d| *d < self.options.min) {
            ("Ignored", "below the minimum")
        } else if chain.stored.get(&block).is_some_and(|(_, best)| {
            difficulty
                .as_ref()
                .is_some_and(|d| d.raw() <= &best.parse().unwrap())
        }) {
            ("Ignored", "not better than the stored one")
        } else {
            ("Stored", "")
        };
        // Whether the nonce is a solution of the block it names, current or not.
        let mined_for_block = difficulty.as_ref().is_some_and(|d| *d >= self.options.min);
        let shown = difficulty.map(|d| d.raw().to_string());
        if verdict == "Stored" {
            let d = shown.clone().unwrap_or_default();
            chain.stored.insert(block, (nonce.to_vec(), d.clone()));
            chain.last = Some((block, nonce.to_vec(), d));
            chain.save(&self.options.state);
        }
        let line = json!({"fields": {
            "message": "judged a submitted solution",
            "block": block,
            "nonce": hex::encode(nonce),
            "verdict": verdict,
            "reason": reason,
            "judged_against": block,
            "mined_for_block": mined_for_block,
            "current": current,
            "difficulty": shown,
        }});
        let mut file = self.judgments.lock().unwrap();
        writeln!(file, "{line}").unwrap();
        file.flush().unwrap();
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = options();
    let chain = Chain::load_or_create(&options.state);
    let judgments = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.judgments)
        .unwrap();
    let listener = TcpListener::bind(options.listen).await.unwrap();
    eprintln!(
        "stand-in node on {} at block {}",
        options.listen,
        chain.height(options.block_seconds)
    );
    let node = Arc::new(Node {
        options,
        chain: Mutex::new(chain),
        judgments: Mutex::new(judgments),
    });
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let node = Arc::clone(&node);
        tokio::spawn(async move {
            let Some(head) = ixi_test_support::node::read_request_head(&mut socket).await else {
                return;
            };
            let target = head.split(' ').nth(1).unwrap_or("/").to_owned();
            let (status, result) = node.answer(&target);
            let body = if status == 200 {
                json!({"result": result, "error": null, "id": null})
            } else {
                json!({"result": null, "error": {"code": -32603, "message": result}, "id": null})
            }
            .to_string();
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}
