//! `ixi-node-api`: a client of an Ixian DLT node's HTTP JSON API.
//!
//! - [`http`]: a minimal HTTP/1.1 client for the node's localhost API, every response body
//!   bounded per request while it is read.
//! - [`client`]: the calls ([`NodeClient`]): the JSON-RPC envelope, node errors, and the block,
//!   wallet and `verify` calls of reference section 9, with errors naming the method, the
//!   block and the field ([`ApiError`]).
//! - [`model`]: typed, tolerant models of the block, signature, PoW solution, transaction and
//!   wallet JSON, the double-encoded lists parsed again.
//!
//! The link's gateway (challenge polling and solution forwarding) and the shadow verifier both
//! reach the node through [`NodeClient`], whether the node is real or simulated.

pub mod client;
pub mod http;
pub mod model;

pub use client::{ApiError, ClientConfig, DEFAULT_NODE_URL, FULL_BLOCK_LIMIT, NodeClient};
pub use http::{Credentials, HttpError};
pub use model::{Block, BlockSignature, FieldError, PowSolution, Transaction, Wallet};
