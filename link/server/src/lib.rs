//! `ixi-link-server`: the node side of the ixi link.
//!
//! - [`core`]: the link's decisions, sans-IO: jobs and nonce partitions for miners, the exact
//!   check of every solution before it is forwarded, verification batches sized by each
//!   verifier's rate and handed out again when a verifier drops or misses its deadline.
//! - [`server`]: the driver: QUIC endpoint, one task per connection, one coordinator.
//! - [`source`]: the [`NodeSource`](source::NodeSource) trait, with two implementations:
//!   [`gateway`] (a real Ixian node's HTTP API, through the small client in [`http`]) and
//!   [`simulate`] (the devnet's embedded chain).

pub mod core;
pub mod gateway;
pub use ixi_node_api::http;
pub mod server;
pub mod simulate;
pub mod source;

pub use server::{LinkServer, ServerConfig};
