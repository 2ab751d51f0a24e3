//! The checks of one block, as plain functions over the parsed models (reference 9.3, 9.4):
//! everything except the RSA arithmetic, which they hand out as [`RsaWork`] with a
//! [`Ticket`] saying whose signature it is.

use std::collections::BTreeSet;
use std::sync::Mutex;

use ixi_formats::address::Address;
use ixi_formats::hash::{sha3_512sq, sha512qu, sha512sq};
use ixi_formats::number::IxiNumber;
use ixi_formats::pubkey::RsaPublicKey;
use ixi_formats::{base58, difficulty, solution, varint};
use ixi_node_api::{Block, BlockSignature, FieldError, Transaction, Wallet};
use ixi_verifier::context::block_signature_message;

use crate::bounded::Bounded;
use crate::finding::{Finding, FindingKind};

/// The consensus floor of a signer's PoW difficulty, 10^7 (`minBlockSignerPowDifficulty`).
#[must_use]
pub fn consensus_floor() -> IxiNumber {
    IxiNumber::from_whole(10_000_000)
}

/// The rules the checks apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// The floor of the minimum signer difficulty: [`consensus_floor`] for a real chain;
    /// tests of chains mined at a low difficulty lower it (the block's own fields still decide
    /// above it).
    pub floor: IxiNumber,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            floor: consensus_floor(),
        }
    }
}

/// Transaction types never verified: StakingReward (2) and Genesis (3).
pub const UNVERIFIED_TX_TYPES: [u64; 2] = [2, 3];
/// The multisig transaction types: MultisigTX, ChangeMultisigWallet, MultisigAddTxSignature.
pub const MULTISIG_TX_TYPES: [u64; 3] = [997, 998, 999];
/// Shortest and longest key the node takes for a transaction.
const TX_KEY_LEN: std::ops::RangeInclusive<usize> = 32..=2500;

/// How many blocks back a PoW solution stays valid for a block of `version`: 30 from v12,
/// 120 before (`ConsensusConfig.getPlPowBlocksValidity`).
#[must_use]
pub fn pow_validity(version: u32) -> u64 {
    if version >= 12 { 30 } else { 120 }
}

/// The minimum signer difficulty of a block: `max(floor, RSD / 7000)` in IxiNumber
/// arithmetic, RSD being `"Required Signer Difficulty"` (`BlockChain.getMinSignerPowDifficulty`).
#[must_use]
pub fn min_signer_difficulty(rules: &Rules, block: &Block) -> IxiNumber {
    let from_required = block
        .required_signer_difficulty
        .as_ref()
        .and_then(|rsd| rsd.checked_div(&IxiNumber::from_whole(7000)));
    match from_required {
        Some(d) if d > rules.floor => d,
        _ => rules.floor.clone(),
    }
}

/// Whether a block's signatures follow the PoW-bound scheme: v11+, or v10 whose parent is
/// v10+, never block 1. `parent_version` is needed only for v10 blocks.
#[must_use]
pub fn pow_bound_scheme(block: &Block, parent_version: Option<u32>) -> bool {
    block.number != 1
        && (block.version > 10 || (block.version == 10 && parent_version.is_some_and(|v| v >= 10)))
}

/// Whose signature an [`RsaWork`] is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ticket {
    /// The block.
    pub block: u64,
    /// [`FindingKind::BlockSignature`] or [`FindingKind::Transaction`].
    pub kind: FindingKind,
    /// Position in the block's signature or transaction list.
    pub index: usize,
    /// The signer's address or the transaction id.
    pub id: String,
}

/// One RSA PKCS#1 v1.5 SHA-512 verification the block needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaWork {
    /// Whose signature.
    pub ticket: Ticket,
    /// The key in the Ixian layout.
    pub key: Vec<u8>,
    /// The signed bytes.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
}

impl RsaWork {
    /// The finding when this signature does not verify.
    #[must_use]
    pub fn finding(&self) -> Finding {
        let reason = match self.ticket.kind {
            FindingKind::BlockSignature => {
                "RSA-2048 signature over sha3_512sq(blockChecksum ‖ solution) does not verify"
            }
            _ => "RSA signature over the checksum does not verify",
        };
        Finding::new(
            self.ticket.block,
            self.ticket.kind,
            Some(self.ticket.index),
            &self.ticket.id,
            reason,
        )
    }
}

/// What was checked in a block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Block signatures checked.
    pub block_signatures: u64,
    /// PoW solutions checked.
    pub pow_solutions: u64,
    /// Transactions checked.
    pub transactions: u64,
    /// Transactions never verified (types 2 and 3).
    pub skipped: u64,
    /// Block signatures of the older scheme, not checked.
    pub legacy_signatures: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.block_signatures += o.block_signatures;
        self.pow_solutions += o.pow_solutions;
        self.transactions += o.transactions;
        self.skipped += o.skipped;
        self.legacy_signatures += o.legacy_signatures;
    }
}

/// A block checked up to its RSA work.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The block.
    pub block: u64,
    /// Signatures still to verify.
    pub rsa: Vec<RsaWork>,
    /// Findings known without RSA.
    pub findings: Vec<Finding>,
    /// What was checked.
    pub counts: Counts,
}

/// What a block's checks need from the node besides the block itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Blocks whose checksum (PoW) or version (the parent of a v10 block) is needed.
    pub blocks: BTreeSet<u64>,
    /// Wallets (base58 addresses) whose key or signers are needed.
    pub wallets: BTreeSet<String>,
}

/// The exact difficulty of PoW solutions already recomputed: a signer signs every block with
/// its best solution, reused for up to 30 blocks, so most solutions of a block were seen in the
/// block before. The hash depends only on the solution's block (its checksum fixed), the
/// signer's address, the signing key and the nonce, which form the key; the window and the
/// minimum are still checked per block. Bounded: 16 384 solutions (about 6 MB).
#[derive(Debug)]
pub struct PowCache {
    solutions: Mutex<Bounded<PowKey, Result<IxiNumber, String>>>,
}

/// `(block mined on, recipient address, signing key, nonce)`.
type PowKey = (u64, String, Vec<u8>, Vec<u8>);

impl Default for PowCache {
    fn default() -> Self {
        Self {
            solutions: Mutex::new(Bounded::new(16_384)),
        }
    }
}

impl PowCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Bounded<PowKey, Result<IxiNumber, String>>> {
        // Nothing panics while it is held.
        self.solutions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What [`check_block`] looks up: the checksum and version of other blocks and wallets.
pub trait Lookup {
    /// Solutions already recomputed, if the caller keeps them.
    fn pow_cache(&self) -> Option<&PowCache> {
        None
    }

    /// `"Block Checksum"` of block `num`.
    fn checksum(&self, num: u64) -> Option<&[u8]>;
    /// `"Version"` of block `num`.
    fn version(&self, num: u64) -> Option<u32>;
    /// The wallet at this base58 address (`None`: unknown to the node).
    fn wallet(&self, address: &str) -> Option<&Wallet>;
}

/// The other blocks and wallets `block`'s checks need.
#[must_use]
pub fn needs(block: &Block) -> Needs {
    let mut needs = Needs::default();
    if block.version == 10 && block.number > 1 {
        needs.blocks.insert(block.number - 1);
    }
    let validity = pow_validity(block.version);
    for sig in &block.signatures {
        if let Some(pow) = &sig.pow
            && pow.block_num < block.number
            && pow.block_num + validity >= block.number
        {
            needs.blocks.insert(pow.block_num);
        }
    }
    for tx in block.transactions.iter().flatten() {
        if UNVERIFIED_TX_TYPES.contains(&tx.tx_type) {
            continue;
        }
        if let Ok(Sender::Address(a)) = sender(tx) {
            needs.wallets.insert(a.to_string());
        }
        if MULTISIG_TX_TYPES.contains(&tx.tx_type)
            && let Some(Ok((signer, _))) =
                tx.data.as_deref().map(|d| multisig_signer(tx.tx_type, d))
            && let Some(a) = address_bytes(&signer)
        {
            needs.wallets.insert(a.to_string());
        }
    }
    needs
}

/// Checks `block`: every finding known without RSA, and the RSA work.
///
/// # Errors
/// [`FieldError`] when a field the checks need is missing (`"Total Signer Difficulty"` of a
/// PoW-bound block, `"Transactions"` when `with_transactions`).
pub fn check_block(
    rules: &Rules,
    block: &Block,
    lookup: &dyn Lookup,
    with_transactions: bool,
) -> Result<Prepared, FieldError> {
    let mut out = Prepared {
        block: block.number,
        rsa: Vec::new(),
        findings: Vec::new(),
        counts: Counts::default(),
    };
    let parent_version = block.number.checked_sub(1).and_then(|p| lookup.version(p));
    if pow_bound_scheme(block, parent_version) {
        check_signatures(rules, block, lookup, &mut out)?;
    } else {
        out.counts.legacy_signatures += block.signatures.len() as u64;
    }
    if with_transactions {
        let txs = block
            .transactions
            .as_ref()
            .ok_or_else(|| FieldError::new("Transactions", "missing"))?;
        for (index, tx) in txs.iter().enumerate() {
            check_transaction(block.number, index, tx, lookup, &mut out);
        }
    }
    Ok(out)
}

fn check_signatures(
    rules: &Rules,
    block: &Block,
    lookup: &dyn Lookup,
    out: &mut Prepared,
) -> Result<(), FieldError> {
    let min = min_signer_difficulty(rules, block);
    let validity = pow_validity(block.version);
    let mut total = IxiNumber::default();
    for (index, sig) in block.signatures.iter().enumerate() {
        out.counts.block_signatures += 1;
        let pow_finding = |reason: String| {
            Finding::new(
                block.number,
                FindingKind::PowSolution,
                Some(index),
                &sig.recipient,
                reason,
            )
        };
        let Some(pow) = &sig.pow else {
            out.findings
                .push(pow_finding("the signature has no PoW solution".into()));
            continue;
        };
        out.counts.pow_solutions += 1;
        total = IxiNumber::from_raw(total.raw() + pow.difficulty.raw());
        if let Err(reason) = check_pow(block, sig, &min, validity, lookup) {
            out.findings.push(pow_finding(reason));
        }
        if let Err(e) = RsaPublicKey::parse(&pow.signing_pub_key) {
            out.findings.push(Finding::new(
                block.number,
                FindingKind::BlockSignature,
                Some(index),
                &sig.recipient,
                format!("powSolution.signingPubKey is not a key in the Ixian layout: {e}"),
            ));
            continue;
        }
        out.rsa.push(RsaWork {
            ticket: Ticket {
                block: block.number,
                kind: FindingKind::BlockSignature,
                index,
                id: sig.recipient.clone(),
            },
            key: pow.signing_pub_key.clone(),
            message: block_signature_message(&block.checksum, &pow.solution).to_vec(),
            signature: sig.signature.clone(),
        });
    }
    let stated = block
        .total_signer_difficulty
        .as_ref()
        .ok_or_else(|| FieldError::new("Total Signer Difficulty", "missing"))?;
    if *stated != total {
        out.findings.push(Finding::new(
            block.number,
            FindingKind::BlockTotal,
            None,
            "",
            format!("the signers' difficulties sum to {total}, the block states {stated}"),
        ));
    }
    Ok(())
}

/// The PoW of one signature (9.3 items 1 and 2); the reason when it fails.
fn check_pow(
    block: &Block,
    sig: &BlockSignature,
    min: &IxiNumber,
    validity: u64,
    lookup: &dyn Lookup,
) -> Result<(), String> {
    let Some(pow) = &sig.pow else {
        return Err("the signature has no PoW solution".into());
    };
    let m = pow.block_num;
    if !(m < block.number && m + validity >= block.number) {
        return Err(format!(
            "PoW solution of block {m} outside the window of block {} ({validity} blocks)",
            block.number
        ));
    }
    let key: PowKey = (
        m,
        sig.recipient.clone(),
        pow.signing_pub_key.clone(),
        pow.solution.clone(),
    );
    let cached = lookup.pow_cache().and_then(|c| c.lock().get(&key).cloned());
    let found = match cached {
        Some(known) => known?,
        None => {
            let computed = recompute_pow(sig, pow, lookup);
            if let Some(cache) = lookup.pow_cache()
                && lookup.checksum(m).is_some()
            {
                cache.lock().insert(key, computed.clone());
            }
            computed?
        }
    };
    if found != pow.difficulty {
        return Err(format!(
            "PoW difficulty recomputes to {found}, the node shows {}",
            pow.difficulty
        ));
    }
    if found < *min {
        return Err(format!(
            "PoW difficulty {found} below the block's minimum {min}"
        ));
    }
    Ok(())
}

/// The exact difficulty of a signature's PoW (reference 1.1 and 2.3), recomputed on the plain
/// path.
fn recompute_pow(
    sig: &BlockSignature,
    pow: &ixi_node_api::PowSolution,
    lookup: &dyn Lookup,
) -> Result<IxiNumber, String> {
    let m = pow.block_num;
    let address = Address::from_base58(&sig.recipient)
        .map_err(|e| format!("recipientPubKeyOrAddress is not an address: {e}"))?;
    let checksum = lookup
        .checksum(m)
        .ok_or_else(|| format!("the checksum of block {m} is unknown"))?;
    let prefix =
        solution::challenge_prefix(m, checksum, address.no_checksum(), &pow.signing_pub_key);
    let hash = solution::hash_with_prefix(&prefix, &pow.solution)
        .map_err(|e| format!("PoW solution unusable: {e}"))?;
    difficulty::hash_to_difficulty(&hash).map_err(|e| format!("PoW hash has no difficulty: {e}"))
}

/// The sender as the transaction's `pubKey` names it.
enum Sender {
    Key(Vec<u8>),
    Address(Address),
}

fn sender(tx: &Transaction) -> Result<Sender, String> {
    let bytes = base58::decode(&tx.pub_key).map_err(|e| format!("pubKey is not base58: {e}"))?;
    match bytes.len() {
        36 | 48 => Address::from_bytes(&bytes)
            .map(Sender::Address)
            .map_err(|e| format!("pubKey is not an address: {e}")),
        _ => Ok(Sender::Key(bytes)),
    }
}

/// An address given as address bytes (with checksum, 36 or 48 bytes).
fn address_bytes(bytes: &[u8]) -> Option<Address> {
    matches!(bytes.len(), 36 | 48)
        .then(|| Address::from_bytes(bytes).ok())
        .flatten()
}

fn check_transaction(
    block: u64,
    index: usize,
    tx: &Transaction,
    lookup: &dyn Lookup,
    out: &mut Prepared,
) {
    if UNVERIFIED_TX_TYPES.contains(&tx.tx_type) {
        out.counts.skipped += 1;
        return;
    }
    out.counts.transactions += 1;
    match transaction_work(block, index, tx, lookup) {
        Ok(work) => out.rsa.push(work),
        Err(reason) => out.findings.push(Finding::new(
            block,
            FindingKind::Transaction,
            Some(index),
            &tx.id,
            reason,
        )),
    }
}

/// The key, the address binding and the checksum of one transaction (9.4); its RSA work.
fn transaction_work(
    block: u64,
    index: usize,
    tx: &Transaction,
    lookup: &dyn Lookup,
) -> Result<RsaWork, String> {
    if let Some((_, tail)) = tx.id.rsplit_once('-') {
        let from_id =
            base58::decode(tail).map_err(|e| format!("id is not <height>-<base58>: {e}"))?;
        if from_id != tx.checksum {
            return Err("checksum differs from the one in the id".into());
        }
    }
    let sender = sender(tx)?;
    let wallet_key = |a: &Address| -> Result<Vec<u8>, String> {
        lookup
            .wallet(&a.to_string())
            .and_then(|w| w.public_key.clone())
            .ok_or_else(|| format!("no public key on record for {a}"))
    };
    let sender_address = match &sender {
        Sender::Address(a) => a.clone(),
        Sender::Key(k) => {
            Address::from_public_key(k).map_err(|e| format!("pubKey is not a key: {e}"))?
        }
    };
    let (key, nonce) = if MULTISIG_TX_TYPES.contains(&tx.tx_type) {
        let data = tx
            .data
            .as_deref()
            .ok_or("multisig transaction without data")?;
        let (signer, nonce) = multisig_signer(tx.tx_type, data)?;
        let key = match address_bytes(&signer) {
            Some(a) => wallet_key(&a)?,
            None => signer,
        };
        (key, nonce)
    } else {
        let key = match &sender {
            Sender::Address(a) => wallet_key(a)?,
            Sender::Key(k) => k.clone(),
        };
        (key, Vec::new())
    };
    if !TX_KEY_LEN.contains(&key.len()) {
        return Err(format!("a {}-byte key (32 to 2500 taken)", key.len()));
    }
    RsaPublicKey::parse(&key)
        .map_err(|e| format!("the signing key is not in the Ixian layout: {e}"))?;
    let signer_address = address_with_nonce(&key, &nonce)
        .map_err(|e| format!("the signing key has no address: {e}"))?;
    let allowed = signer_address == sender_address
        || (MULTISIG_TX_TYPES.contains(&tx.tx_type)
            && lookup.wallet(&sender_address.to_string()).is_some_and(|w| {
                w.allowed_signers
                    .iter()
                    .any(|s| Address::from_base58(s).is_ok_and(|a| a == signer_address))
            }));
    if !allowed {
        return Err(format!(
            "signing key's address {signer_address} is not the sender {sender_address} nor an allowed signer"
        ));
    }
    Ok(RsaWork {
        ticket: Ticket {
            block,
            kind: FindingKind::Transaction,
            index,
            id: tx.id.clone(),
        },
        key,
        message: tx.checksum.clone(),
        signature: tx.signature.clone(),
    })
}

/// The signer key (or address) and nonce in a multisig transaction's data
/// (`Transaction.GetMultisigData`).
fn multisig_signer(tx_type: u64, data: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    struct Cursor<'a>(&'a [u8]);
    impl Cursor<'_> {
        fn take(&mut self, n: usize) -> Result<Vec<u8>, String> {
            if self.0.len() < n {
                return Err("multisig data truncated".into());
            }
            let (head, rest) = self.0.split_at(n);
            self.0 = rest;
            Ok(head.to_vec())
        }
        fn len(&mut self, range: std::ops::RangeInclusive<u64>) -> Result<usize, String> {
            let (n, used) = varint::read_u64(self.0).map_err(|e| format!("multisig data: {e}"))?;
            self.0 = &self.0[used..];
            if !range.contains(&n) {
                return Err(format!("multisig data: a length of {n}"));
            }
            usize::try_from(n).map_err(|_| "multisig data: length out of range".to_owned())
        }
    }
    if data.len() < 6 {
        return Err("multisig data shorter than 6 bytes".into());
    }
    let mut c = Cursor(data);
    if tx_type == 998 {
        // ChangeMultisigWallet: a change type, then its fields.
        match c.take(1)?[0] {
            1 | 2 => {
                let n = c.len(36..=128)?;
                c.take(n)?;
            }
            3 => {
                c.take(1)?;
            }
            t => return Err(format!("multisig change type {t}")),
        }
    } else {
        let n = c.len(0..=100)?;
        c.take(n)?;
    }
    let key_len = c.len(36..=2500)?;
    let key = c.take(key_len)?;
    let nonce_len = c.len(0..=16)?;
    let nonce = c.take(nonce_len)?;
    Ok((key, nonce))
}

/// `new Address(pubkey, nonce)`: the key's address, derived further by a nonce other than
/// none or `[0]` (`Address.constructAddress_v0/v1/v2`).
///
/// # Errors
/// The key's [`ixi_formats::address::AddressError`].
pub fn address_with_nonce(
    key: &[u8],
    nonce: &[u8],
) -> Result<Address, ixi_formats::address::AddressError> {
    let base = Address::from_public_key(key)?;
    if nonce.is_empty() || nonce == [0] {
        return Ok(base);
    }
    let base_bytes = base.no_checksum();
    let mut derived = vec![base.version()];
    match base.version() {
        0 | 1 => {
            let mut tmp = base_bytes.to_vec();
            tmp.extend_from_slice(&sha512sq(base_bytes)[..3]);
            tmp.extend_from_slice(nonce);
            if base.version() == 0 {
                derived.extend_from_slice(&sha512qu(&tmp)[..32]);
            } else {
                // sha512sqTrunc(tmp, offset 5): the hash of tmp from its sixth byte.
                derived.extend_from_slice(&sha512sq(&tmp[5..])[..44]);
            }
        }
        _ => {
            let tmp = [base_bytes, nonce].concat();
            derived.extend_from_slice(&sha3_512sq(&tmp)[..44]);
        }
    }
    Address::from_bytes(&derived)
}
