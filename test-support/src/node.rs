//! An HTTP stand-in of the Ixian node's block API (reference section 9), written from the
//! specification: `getblockcount`, `getblock`, `getfullblock`, `getwallet` and `verify` over
//! a [`TestChain`], in the node's envelope, with the ways a node can go wrong on request.
//! `verify` is the node's own check as the simulated node makes it
//! ([`ixi_simnode::chain::node_verify`], by aws-lc-rs), not the project's verifier.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ixi_simnode::chain::node_verify;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::chain::TestChain;

/// How the stand-in answers for one block.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This text as the whole `result` (raw JSON).
    RawResult(String),
    /// An HTTP 500 with this error message.
    Error(String),
    /// A 200 MB body (`with_length`: announced by Content-Length, else sent until closed).
    Huge {
        /// Whether Content-Length announces it.
        with_length: bool,
    },
}

/// The stand-in's state, shared with the test.
pub struct StandInState {
    /// The chain served.
    pub chain: TestChain,
    /// `getblockcount`.
    pub height: u64,
    /// Per-block answers replacing the chain's.
    pub answers: HashMap<u64, Answer>,
    /// Every call: `method?query`.
    pub calls: Vec<String>,
    /// Answer every call with HTTP 500.
    pub fail_all: bool,
    /// `verify` answers an error instead of a verdict.
    pub verify_fails: bool,
}

/// A running stand-in.
pub struct NodeStandIn {
    /// Its URL.
    pub url: String,
    /// Its state.
    pub state: Arc<Mutex<StandInState>>,
    addr: SocketAddr,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for NodeStandIn {
    fn drop(&mut self) {
        self.stop();
    }
}

impl NodeStandIn {
    /// Serves `chain` on a free port, its height the chain's last block.
    pub async fn start(chain: TestChain) -> Self {
        let height = chain.blocks.keys().next_back().copied().unwrap_or(0);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(StandInState {
            chain,
            height,
            answers: HashMap::new(),
            calls: Vec::new(),
            fail_all: false,
            verify_fails: false,
        }));
        let task = tokio::spawn(serve(listener, Arc::clone(&state)));
        Self {
            url: format!("http://{addr}"),
            state,
            addr,
            task: Mutex::new(Some(task)),
        }
    }

    /// Stops listening (a node that went away).
    pub fn stop(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }

    /// Listens again on the same address (the node restarted).
    pub async fn restart(&self) {
        self.stop();
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
        *self.task.lock().unwrap() = Some(tokio::spawn(serve(listener, Arc::clone(&self.state))));
    }

    /// Calls of `method` so far.
    pub fn calls_of(&self, method: &str) -> Vec<String> {
        let prefix = format!("{method}?");
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.starts_with(&prefix) || *c == method)
            .cloned()
            .collect()
    }
}

async fn serve(listener: TcpListener, state: Arc<Mutex<StandInState>>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let Some(request) = read_request_head(&mut socket).await else {
                return;
            };
            let target = request.split(' ').nth(1).unwrap_or("/").to_owned();
            match answer(&state, &target) {
                Reply::Body(status, body) => {
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                }
                Reply::Huge { with_length } => {
                    let size: usize = 200 << 20;
                    let head = if with_length {
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n")
                    } else {
                        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_owned()
                    };
                    let _ = socket.write_all(head.as_bytes()).await;
                    let block = vec![b' '; 1 << 20];
                    for _ in 0..200 {
                        if socket.write_all(&block).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = socket.shutdown().await;
        });
    }
}

/// Reads an HTTP request up to the end of its head; `None` when the client went away first.
pub async fn read_request_head(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

enum Reply {
    Body(u16, String),
    Huge { with_length: bool },
}

fn envelope(result: &str) -> Reply {
    Reply::Body(
        200,
        format!(r#"{{"result":{result},"error":null,"id":null}}"#),
    )
}

fn error(message: &str) -> Reply {
    Reply::Body(
        500,
        json!({"result": null, "error": {"code": -32603, "message": message}, "id": null})
            .to_string(),
    )
}

fn answer(state: &Mutex<StandInState>, target: &str) -> Reply {
    let mut s = state.lock().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let method = path.trim_start_matches('/');
    s.calls.push(format!("{method}?{query}"));
    if s.fail_all {
        return error("Internal error");
    }
    let params: HashMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    match method {
        "getblockcount" => envelope(&s.height.to_string()),
        "getblock" | "getfullblock" => {
            let Some(num) = params.get("num").and_then(|n| n.parse::<u64>().ok()) else {
                return error("Invalid params");
            };
            match s.answers.get(&num) {
                Some(Answer::RawResult(raw)) => return envelope(raw),
                Some(Answer::Error(message)) => return error(message),
                Some(Answer::Huge { with_length }) => {
                    return Reply::Huge {
                        with_length: *with_length,
                    };
                }
                None => {}
            }
            let block = if method == "getblock" {
                s.chain.block_without_transactions(num)
            } else {
                s.chain.blocks.get(&num).cloned()
            };
            match block {
                Some(b) if num <= s.height => envelope(&b.to_string()),
                _ => error("Block not found."),
            }
        }
        "getwallet" => match params.get("id") {
            Some(id) => envelope(&TestChain::wallet(id).to_string()),
            None => error("Invalid params"),
        },
        "verify" => {
            if s.verify_fails {
                return error("Internal error");
            }
            let field = |k: &str| params.get(k).and_then(|v| hex::decode(v).ok());
            match (field("publicKey"), field("signature"), field("hash")) {
                (Some(key), Some(sig), Some(data)) => {
                    envelope(&Value::Bool(node_verify(&key, &sig, &data)).to_string())
                }
                _ => error("Invalid params"),
            }
        }
        _ => Reply::Body(
            404,
            r#"{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":null}"#
                .to_owned(),
        ),
    }
}
