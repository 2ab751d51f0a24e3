//! What the link reads from a node's JSON API, on arbitrary text: the signing challenge
//! (`getSigningChallenge`), the signer's solution in `status?vv`, blocks with their
//! double-encoded signature and transaction lists (`getblock`/`getfullblock`), wallets
//! (`getwallet`), and the checks shadow verification runs on a parsed block. Never a panic;
//! a challenge that parses has a prefix.
#![no_main]

use ixi_link_audit::checks::{Lookup, Rules, check_block, needs};
use ixi_link_server::gateway::{parse_challenge, status_shows_solution};
use ixi_node_api::model::{Block, Wallet, as_bool, as_u64};
use libfuzzer_sys::fuzz_target;

/// Every block and wallet the checks ask for exists, with fixed contents.
struct Everything {
    checksum: Vec<u8>,
    wallet: Option<Wallet>,
}

impl Lookup for Everything {
    fn checksum(&self, _: u64) -> Option<&[u8]> {
        Some(&self.checksum)
    }
    fn version(&self, num: u64) -> Option<u32> {
        Some(u32::try_from(num % 13).unwrap_or(0))
    }
    fn wallet(&self, _: &str) -> Option<&Wallet> {
        self.wallet.as_ref()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match selector % 4 {
        0 => {
            if let Ok(Some(challenge)) = parse_challenge(&text) {
                assert!(!challenge.prefix.is_empty());
            }
        }
        1 => {
            let _ = status_shows_solution(&text, 42, "AQID");
        }
        2 => {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                return;
            };
            let _ = as_u64(&value);
            let _ = as_bool(&value);
            let wallet = Wallet::from_json(&value).ok();
            if let Ok(block) = Block::from_json(&value) {
                let _ = needs(&block);
                let lookup = Everything {
                    checksum: vec![7; 64],
                    wallet,
                };
                let _ = check_block(&Rules::default(), &block, &lookup, true);
                let _ = check_block(&Rules::default(), &block, &lookup, false);
            }
        }
        _ => {
            // A block whose lists arrive double-encoded: the text is the "Signatures" string.
            let value = serde_json::json!({
                "Block Number": "100",
                "Version": "12",
                "Block Checksum": "00",
                "Signatures": text,
                "Transactions": text,
                "Total Signer Difficulty": "1.0",
                "Required Signer Difficulty": "1.0",
            });
            if let Ok(block) = Block::from_json(&value) {
                let lookup = Everything {
                    checksum: vec![1; 64],
                    wallet: None,
                };
                let _ = check_block(&Rules::default(), &block, &lookup, true);
            }
        }
    }
});
