//! `ixi-link-server`: the node side of the ixi link.
//!
//! - [`core`]: the link's decisions, sans-IO: jobs and nonce partitions for miners, the exact
//!   check of every solution before it is forwarded, verification batches sized by each
//!   verifier's rate and handed out again when a verifier drops or misses its deadline.
//! - [`server`]: the driver: QUIC endpoint, one task per connection, one coordinator.
//! - [`source`]: the [`NodeSource`](source::NodeSource) trait, implemented by [`gateway`]: an
//!   Ixian node's HTTP API (real, or the simulated node of `ixi-simnode`) through
//!   [`ixi_node_api`].
//! - [`shadow`]: live shadow verification of the node's blocks: the checks of
//!   [`ixi_link_audit`], the RSA work dispatched to the connected verifiers (or the link's own
//!   threads), findings confirmed with the node and logged.

pub mod core;
pub mod gateway;
pub use ixi_node_api::http;
pub mod server;
pub mod shadow;
pub mod source;

pub use server::{LinkExtras, LinkServer, ServerConfig};
