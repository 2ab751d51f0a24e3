//! Test blocks in the node API's JSON shapes (reference 9.2, 9.4, 9.5), written from the
//! specification and independent of the project's simulated node: real RSA keys (generated
//! once per test binary), real PoW solutions mined on the plain `sha3` path at a low
//! difficulty, and helpers that make one item wrong in each way the audit must report.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA512};
use base64::Engine as _;
use ixi_formats::address::Address;
use ixi_formats::hash::sha3_512sq;
use ixi_formats::number::IxiNumber;
use ixi_formats::pubkey::RsaPublicKey;
use ixi_formats::{base58, difficulty, solution};
use serde_json::{Value, json};

/// A key pair with its public key in the Ixian layout.
pub struct TestKey {
    pair: KeyPair,
    /// The public key in the Ixian layout.
    pub public: Vec<u8>,
}

impl TestKey {
    fn generate(size: KeySize, version: u8) -> Self {
        let pair = KeyPair::generate(size).unwrap();
        let c: PublicKeyComponents<Vec<u8>> = pair.public_key().into();
        let public = RsaPublicKey::new(version, c.n, c.e).to_bytes();
        Self { pair, public }
    }

    /// PKCS#1 v1.5 SHA-512 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA512, &SystemRandom::new(), message, &mut sig)
            .unwrap();
        sig
    }

    /// The key's address.
    pub fn address(&self) -> Address {
        Address::from_public_key(&self.public).unwrap()
    }
}

/// The test binary's keys: two RSA-2048 signers (v2), two RSA-4096 wallets (v1), made once.
pub struct Keys {
    /// Signing keys.
    pub signers: Vec<TestKey>,
    /// The signers' wallet addresses.
    pub signer_addresses: Vec<Address>,
    /// Wallet keys.
    pub wallets: Vec<TestKey>,
}

/// The keys, generated on first use.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        signers: (0..2)
            .map(|_| TestKey::generate(KeySize::Rsa2048, 2))
            .collect(),
        signer_addresses: (0..2)
            .map(|_| TestKey::generate(KeySize::Rsa2048, 1).address())
            .collect(),
        wallets: (0..2)
            .map(|_| TestKey::generate(KeySize::Rsa4096, 1))
            .collect(),
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A nonce on `prefix` meeting `min`, on the plain path, with its hash and difficulty.
pub fn mine(prefix: &[u8], min: &IxiNumber, seed: u64) -> (Vec<u8>, [u8; 64], IxiNumber) {
    let mut n = seed << 32;
    loop {
        n += 1;
        let mut nonce = vec![7u8; 32];
        nonce[..8].copy_from_slice(&n.to_le_bytes());
        let hash = solution::hash_with_prefix(prefix, &nonce).unwrap();
        if let Ok(d) = difficulty::hash_to_difficulty(&hash)
            && d >= *min
        {
            return (nonce, hash, d);
        }
    }
}

/// A solution finder: `(prefix, min, seed)` to `(nonce, hash, difficulty)`.
pub type Miner<'a> = dyn Fn(&[u8], &IxiNumber, u64) -> (Vec<u8>, [u8; 64], IxiNumber) + 'a;

/// A chain of test blocks as the node's API serves them.
pub struct TestChain {
    /// `getfullblock` results by number.
    pub blocks: BTreeMap<u64, Value>,
    /// The difficulty the PoW solutions meet.
    pub difficulty: IxiNumber,
}

/// A block's shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Block signatures.
    pub signatures: usize,
    /// Transactions (besides one staking reward); every third carries the key, the others
    /// name the sender by address (its key through `getwallet`).
    pub transactions: usize,
    /// Every signature with a solution of its own (else each signer reuses one solution).
    pub distinct_solutions: bool,
}

impl TestChain {
    /// Blocks `first..first+count`, the first without signatures (the signers' PoW solutions
    /// are mined on it, on the plain path), every later one shaped `shape`, all valid.
    pub fn build(first: u64, count: u64, shape: Shape, min: &IxiNumber) -> Self {
        Self::build_with(first, count, shape, min, &mine)
    }

    /// As [`TestChain::build`], the solutions found by `miner(prefix, min, seed)`.
    pub fn build_with(
        first: u64,
        count: u64,
        shape: Shape,
        min: &IxiNumber,
        miner: &Miner<'_>,
    ) -> Self {
        let keys = keys();
        let mut chain = Self {
            blocks: BTreeMap::new(),
            difficulty: min.clone(),
        };
        let mut solutions: Vec<(u64, Vec<u8>, [u8; 64], IxiNumber)> = Vec::new();
        for number in first..first + count {
            let checksum = sha3_512sq(&number.to_le_bytes());
            let mut signatures = Vec::new();
            let mut total = IxiNumber::default();
            if number > first {
                if solutions.is_empty() {
                    // Each signer mines on the first block.
                    let first_checksum = sha3_512sq(&first.to_le_bytes());
                    for (i, key) in keys.signers.iter().enumerate() {
                        let prefix = solution::challenge_prefix(
                            first,
                            &first_checksum,
                            keys.signer_addresses[i].no_checksum(),
                            &key.public,
                        );
                        let (nonce, hash, d) = miner(&prefix, min, i as u64 + 1);
                        solutions.push((first, nonce, hash, d));
                    }
                }
                for index in 0..shape.signatures {
                    let s = index % keys.signers.len();
                    let own;
                    let (m, nonce, hash, d) = if shape.distinct_solutions {
                        let first_checksum = sha3_512sq(&first.to_le_bytes());
                        let prefix = solution::challenge_prefix(
                            first,
                            &first_checksum,
                            keys.signer_addresses[s].no_checksum(),
                            &keys.signers[s].public,
                        );
                        let (nonce, hash, d) = miner(&prefix, min, (number << 20) + index as u64);
                        own = (first, nonce, hash, d);
                        &own
                    } else {
                        &solutions[s]
                    };
                    let message = sha3_512sq(&[&checksum[..], &nonce[..]].concat());
                    total = IxiNumber::from_raw(total.raw() + d.raw());
                    signatures.push(json!({
                        "blockNum": number,
                        "blockHash": b64(&checksum),
                        "signature": b64(&keys.signers[s].sign(&message)),
                        "recipientPubKeyOrAddress": keys.signer_addresses[s].to_string(),
                        "powSolution": {
                            "blockNum": m,
                            "solution": b64(nonce),
                            "signingPubKey": b64(&keys.signers[s].public),
                            "blockHash": null,
                            "checksum": b64(hash),
                            "difficulty": d.to_string(),
                            "bits": difficulty::hash_to_bits(hash),
                        },
                    }));
                }
            }
            let mut transactions = Vec::new();
            for index in 0..shape.transactions {
                let w = &keys.wallets[index % keys.wallets.len()];
                let tx_checksum = sha3_512sq(
                    &[&b"Ixian"[..], &number.to_le_bytes(), &index.to_le_bytes()].concat(),
                )[..44]
                    .to_vec();
                let pub_key = if index % 3 == 0 {
                    base58::encode(&w.public)
                } else {
                    w.address().to_string()
                };
                transactions.push(tx_json(
                    number,
                    0,
                    &tx_checksum,
                    &w.sign(&tx_checksum),
                    &pub_key,
                ));
            }
            let stake = random_checksum(number);
            let mut staking = tx_json(number, 2, &stake, &[1, 2, 3], "1");
            staking["id"] = json!(format!("stk-{number}"));
            transactions.push(staking);
            chain.blocks.insert(
                number,
                json!({
                    "Block Number": number.to_string(),
                    "Version": "12",
                    "Block Checksum": hex::encode(checksum),
                    "Signatures": Value::Array(signatures).to_string(),
                    "Signature count": shape.signatures.to_string(),
                    "Required Signer Difficulty": "7.00000000",
                    "Total Signer Difficulty": total.to_string(),
                    "Signer Bits": "0000000000000000",
                    "TX IDs": "[]",
                    "Transactions": Value::Array(transactions).to_string(),
                }),
            );
        }
        chain
    }

    /// The `getblock` result (no transactions) of a block.
    pub fn block_without_transactions(&self, number: u64) -> Option<Value> {
        let mut b = self.blocks.get(&number)?.clone();
        b.as_object_mut()?.remove("Transactions");
        Some(b)
    }

    /// The `getwallet` result of an address. Wallet 0 is a multisig wallet whose other
    /// allowed signer is wallet 1.
    pub fn wallet(address: &str) -> Value {
        let wallets = &keys().wallets;
        let key = wallets
            .iter()
            .find(|w| w.address().to_string() == address)
            .map_or_else(|| "null".to_owned(), |w| hex::encode(&w.public));
        let signers = if wallets[0].address().to_string() == address {
            json!([wallets[1].address().to_string()]).to_string()
        } else {
            "null".to_owned()
        };
        json!({"id": address, "balance": "0", "type": "0", "requiredSigs": "1",
               "allowedSigners": signers, "extraData": "null", "publicKey": key})
    }

    /// Appends a multisig transaction (type 997, or 998 adding a signer) to block `number`,
    /// sent from wallet `sender`, signed by wallet `signer` with address nonce `nonce`; the
    /// signer's key and nonce in the first output's data. Returns its index.
    pub fn add_multisig(
        &mut self,
        number: u64,
        tx_type: u64,
        sender: usize,
        signer: usize,
        nonce: &[u8],
    ) -> usize {
        let wallets = &keys().wallets;
        let key = &wallets[signer].public;
        let mut data = Vec::new();
        if tx_type == 998 {
            // AddSigner: the change type, then the address added.
            data.push(1);
            let added = wallets[signer].address().with_checksum();
            ixi_formats::varint::write_u64(added.len() as u64, &mut data);
            data.extend_from_slice(&added);
        } else {
            // No original transaction id.
            ixi_formats::varint::write_u64(0, &mut data);
        }
        ixi_formats::varint::write_u64(key.len() as u64, &mut data);
        data.extend_from_slice(key);
        ixi_formats::varint::write_u64(nonce.len() as u64, &mut data);
        data.extend_from_slice(nonce);
        let checksum =
            sha3_512sq(&[&b"multisig"[..], &number.to_le_bytes(), &data].concat())[..44].to_vec();
        let mut tx = tx_json(
            number,
            tx_type,
            &checksum,
            &wallets[signer].sign(&checksum),
            &wallets[sender].address().to_string(),
        );
        tx["data"] = json!(hex::encode(&data));
        let mut index = 0;
        self.edit_list(number, "Transactions", |l| {
            index = l.len();
            l.push(tx);
        });
        index
    }

    /// Changes the double-encoded list `field` of block `number`.
    pub fn edit_list(&mut self, number: u64, field: &str, edit: impl FnOnce(&mut Vec<Value>)) {
        let block = self.blocks.get_mut(&number).unwrap();
        let mut list: Vec<Value> = serde_json::from_str(block[field].as_str().unwrap()).unwrap();
        edit(&mut list);
        block[field] = Value::String(Value::Array(list).to_string());
    }

    /// Flips a bit of block signature `index`'s RSA signature.
    pub fn break_block_signature(&mut self, number: u64, index: usize) {
        self.edit_list(number, "Signatures", |l| {
            let mut sig = base64::engine::general_purpose::STANDARD
                .decode(l[index]["signature"].as_str().unwrap())
                .unwrap();
            sig[10] ^= 0x20;
            l[index]["signature"] = json!(b64(&sig));
        });
    }

    /// Makes the node claim a difficulty the PoW of signature `index` does not have (and the
    /// block total follow it, so only the PoW is wrong).
    pub fn break_pow_difficulty(&mut self, number: u64, index: usize) {
        self.edit_list(number, "Signatures", |l| {
            let d: IxiNumber = l[index]["powSolution"]["difficulty"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            l[index]["powSolution"]["difficulty"] =
                json!(IxiNumber::from_raw(d.raw() + 1).to_string());
        });
        // The stated total is one raw unit up as well: the same change as `break_total`.
        self.break_total(number);
    }

    /// Moves signature `index`'s PoW block out of the validity window (30 blocks at v12).
    pub fn break_pow_window(&mut self, number: u64, index: usize) {
        self.edit_list(number, "Signatures", |l| {
            l[index]["powSolution"]["blockNum"] = json!(number.saturating_sub(31));
        });
    }

    /// States a total signer difficulty off by one raw unit.
    pub fn break_total(&mut self, number: u64) {
        let block = self.blocks.get_mut(&number).unwrap();
        let total: IxiNumber = block["Total Signer Difficulty"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        block["Total Signer Difficulty"] = json!(IxiNumber::from_raw(total.raw() + 1).to_string());
    }

    /// Flips a bit of transaction `index`'s signature.
    pub fn break_transaction_signature(&mut self, number: u64, index: usize) {
        self.edit_list(number, "Transactions", |l| {
            let mut sig = hex::decode(l[index]["signature"].as_str().unwrap()).unwrap();
            sig[5] ^= 1;
            l[index]["signature"] = json!(hex::encode(sig));
        });
    }

    /// Names another wallet as transaction `index`'s sender (the binding fails).
    pub fn break_transaction_sender(&mut self, number: u64, index: usize) {
        let other = keys().wallets[(index + 1) % 2].address().to_string();
        self.edit_list(number, "Transactions", |l| {
            l[index]["pubKey"] = json!(other)
        });
    }
}

fn random_checksum(n: u64) -> Vec<u8> {
    sha3_512sq(&n.to_be_bytes())[..44].to_vec()
}

fn tx_json(number: u64, tx_type: u64, checksum: &[u8], signature: &[u8], pub_key: &str) -> Value {
    json!({
        "id": format!("{number}-{}", base58::encode(checksum)),
        "version": 7,
        "blockHeight": number.to_string(),
        "nonce": "0",
        "signature": hex::encode(signature),
        "pubKey": pub_key,
        "timestamp": "0",
        "type": tx_type.to_string(),
        "amount": "1.00000000",
        "applied": "0",
        "checksum": hex::encode(checksum),
        "from": {"AA==": "1.00000000"},
        "to": {"1": "1.00000000"},
        "fee": "0.00010000",
        "totalAmount": "1.00010000",
    })
}
