//! Test support: an HTTP stand-in of the Ixian node API built from the specification, and a
//! plain-path solution finder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_formats::solution;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;

/// `count` nonces of `len` bytes meeting `min` on `prefix`, with their difficulties, found on
/// the plain reference path (counter nonces from `seed`).
pub fn find_solutions(
    prefix: &[u8],
    min: &IxiNumber,
    count: usize,
    seed: u64,
) -> Vec<(Vec<u8>, IxiNumber)> {
    let mut found = Vec::new();
    let mut n = seed;
    while found.len() < count {
        n += 1;
        let mut nonce = vec![0u8; 32];
        nonce[..8].copy_from_slice(&n.to_le_bytes());
        nonce[8..16].copy_from_slice(&seed.to_be_bytes());
        let hash = solution::hash_with_prefix(prefix, &nonce).unwrap();
        // The reference's pre-filter, then the exact difficulty.
        if hash[62] != 0 || hash[63] != 0 {
            continue;
        }
        let d = difficulty::hash_to_difficulty(&hash).unwrap();
        if d >= *min {
            found.push((nonce, d));
        }
    }
    found
}

/// What the stand-in node does now.
#[derive(Debug, Clone)]
pub struct NodeBehaviour {
    /// The challenge; `None` = not mining (Item1 null).
    pub mining: Option<(u64, Vec<u8>, IxiNumber)>,
    /// `status` reports "Synchronizing" instead of "Active".
    pub syncing: bool,
    /// Answer every call with HTTP 500 and an error object.
    pub fail: bool,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Required `Authorization` header value.
    pub auth: Option<String>,
    /// `Item2` as an IxiNumber object (else a decimal string).
    pub item2_object: bool,
}

/// The stand-in's state, shared with the test.
#[derive(Debug)]
pub struct NodeState {
    /// Behaviour.
    pub behaviour: NodeBehaviour,
    /// Stored solution per block: (nonce, difficulty).
    pub stored: HashMap<u64, (Vec<u8>, IxiNumber)>,
    /// The last stored: (block, nonce, difficulty).
    pub last: Option<(u64, Vec<u8>, IxiNumber)>,
    /// Submissions received.
    pub submissions: u64,
}

/// A running stand-in.
pub struct StandIn {
    /// Its URL.
    pub url: String,
    /// Its state.
    pub state: Arc<Mutex<NodeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts one on a free port.
    pub async fn start(behaviour: NodeBehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(NodeState {
            behaviour,
            stored: HashMap::new(),
            last: None,
            submissions: 0,
        }));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let Some(request) =
                        ixi_test_support::node::read_request_head(&mut socket).await
                    else {
                        return;
                    };
                    let delay = state.lock().unwrap().behaviour.delay;
                    tokio::time::sleep(delay).await;
                    let (status, body) = answer(&state, &request);
                    let response = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { url, state, task }
    }

    /// Changes the behaviour.
    pub fn set(&self, f: impl FnOnce(&mut NodeBehaviour)) {
        f(&mut self.state.lock().unwrap().behaviour);
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn answer(state: &Mutex<NodeState>, request: &str) -> (u16, String) {
    let mut s = state.lock().unwrap();
    let b = s.behaviour.clone();
    if let Some(auth) = &b.auth {
        let given = request
            .lines()
            .find_map(|l| l.strip_prefix("Authorization: "))
            .map(str::trim);
        if given != Some(auth.as_str()) {
            return (401, String::new());
        }
    }
    if b.fail {
        return (
            500,
            r#"{"result":null,"error":{"code":-32603,"message":"Internal error"},"id":null}"#
                .into(),
        );
    }
    let target = request.split(' ').nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: HashMap<String, String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), percent_decode(v))
        })
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    let ok = |result: String| {
        (
            200,
            format!(r#"{{"result":{result},"error":null,"id":null}}"#),
        )
    };
    match path {
        "/getSigningChallenge" => match &b.mining {
            Some((height, prefix, min)) => {
                let item2 = if b.item2_object {
                    format!(r#"{{"amount":{}}}"#, min.raw())
                } else {
                    format!("\"{min}\"")
                };
                ok(format!(
                    r#"{{"Item1":"{}","Item2":{item2},"Item3":{height}}}"#,
                    b64.encode(prefix)
                ))
            }
            None => ok(r#"{"Item1":null,"Item2":{"amount":0},"Item3":0}"#.into()),
        },
        "/submitSigningSolution" => {
            s.submissions += 1;
            let Some(height) = params
                .get("blockHeight")
                .and_then(|h| h.parse::<u64>().ok())
            else {
                return (
                    500,
                    r#"{"result":null,"error":{"code":-32603,"message":"missing blockHeight"},"id":null}"#.into(),
                );
            };
            // ProcessExternalSolution: ignored unless it counts; always "result": null.
            let nonce = params
                .get("solution")
                .and_then(|n| b64.decode(n).ok())
                .unwrap_or_default();
            if let Some((h, prefix, min)) = &b.mining
                && *h == height
                && nonce.len() > 1
                && let Ok(hash) = solution::hash_with_prefix(prefix, &nonce)
                && hash[62] == 0
                && hash[63] == 0
                && let Ok(d) = difficulty::hash_to_difficulty(&hash)
                && d >= *min
                && s.stored.get(&height).is_none_or(|(_, best)| d > *best)
            {
                s.stored.insert(height, (nonce.clone(), d.clone()));
                s.last = Some((height, nonce, d));
            }
            ok("null".into())
        }
        "/status" => {
            let mut status = serde_json::json!({
                "DLT Status": if b.syncing { "Synchronizing" } else { "Active" },
            });
            if params.contains_key("vv")
                && let Some((height, nonce, d)) = &s.last
            {
                status["Signer Last PoW Solution"] = serde_json::json!({
                    "blockNum": height,
                    "solution": b64.encode(nonce),
                    "checksum": "",
                    "difficulty": d.to_string(),
                    "bits": "",
                });
            }
            ok(status.to_string())
        }
        _ => (
            404,
            r#"{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":null}"#
                .into(),
        ),
    }
}
