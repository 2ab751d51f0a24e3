//! The node API client's HTTP/1.x response parser (head, Content-Length, chunked bodies) on
//! arbitrary bytes: never a panic, and a body never larger than the limit or than the input.
#![no_main]

use ixi_node_api::http::{DEFAULT_BODY_LIMIT, parse_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = parse_response(data) {
        assert!(response.body.len() <= DEFAULT_BODY_LIMIT);
        assert!(response.body.len() <= data.len());
    }
});
