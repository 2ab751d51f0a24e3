//! Typed, tolerant models of the node's block, signature, transaction and wallet JSON
//! (reference section 9).
//!
//! Tolerant where the node's serializers vary: unknown fields are ignored, numbers arrive as
//! JSON numbers or as decimal strings, the double-encoded lists (`"Signatures"`,
//! `"Transactions"`: a JSON array serialized into a string) are parsed again, and a real array
//! is taken too. Strict where a value is needed: a missing or malformed field is a
//! [`FieldError`] naming it (`Signatures[3].powSolution.difficulty`), never a default.

use std::str::FromStr as _;

use base64::Engine as _;
use ixi_formats::number::IxiNumber;
use serde_json::{Map, Value};

/// A field the answer lacks or that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field:?}: {what}")]
pub struct FieldError {
    /// The field's path, e.g. `Signatures[3].powSolution.difficulty`.
    pub field: String,
    /// What is wrong.
    pub what: String,
}

impl FieldError {
    /// An error about `field`.
    #[must_use]
    pub fn new(field: impl Into<String>, what: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            what: what.into(),
        }
    }

    fn under(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// A block as `getblock` / `getfullblock` give it.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// `"Block Number"`.
    pub number: u64,
    /// `"Version"`.
    pub version: u32,
    /// `"Block Checksum"`.
    pub checksum: Vec<u8>,
    /// `"Frozen Signatures"` when present, else `"Signatures"`.
    pub signatures: Vec<BlockSignature>,
    /// `"Required Signer Difficulty"` (v10+).
    pub required_signer_difficulty: Option<IxiNumber>,
    /// `"Total Signer Difficulty"`.
    pub total_signer_difficulty: Option<IxiNumber>,
    /// `"Transactions"` (`getfullblock` only).
    pub transactions: Option<Vec<Transaction>>,
}

/// One element of a block's signature list.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSignature {
    /// The RSA signature.
    pub signature: Vec<u8>,
    /// `recipientPubKeyOrAddress`: the signer's base58 address (with checksum).
    pub recipient: String,
    /// The signer's PoW solution; `None` when the node has none (`null`).
    pub pow: Option<PowSolution>,
}

/// A signer's PoW solution as the node shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PowSolution {
    /// The block the solution was mined on.
    pub block_num: u64,
    /// The nonce.
    pub solution: Vec<u8>,
    /// The signing key (Ixian layout, RSA-2048 for signers).
    pub signing_pub_key: Vec<u8>,
    /// The difficulty the node computed.
    pub difficulty: IxiNumber,
}

/// A transaction of `getfullblock`'s `"Transactions"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// `id`, `"<height>-<base58>"` or `"stk-…"`.
    pub id: String,
    /// `version`.
    pub version: u32,
    /// `type`.
    pub tx_type: u64,
    /// `signature`.
    pub signature: Vec<u8>,
    /// `pubKey`: base58 without check of the full key, or the sender's address with checksum.
    pub pub_key: String,
    /// `data`: the first output's data.
    pub data: Option<Vec<u8>>,
    /// `checksum`: the signed message.
    pub checksum: Vec<u8>,
}

/// `getwallet`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    /// `id`.
    pub id: String,
    /// `publicKey`; `None` for `"null"` (no key on record).
    pub public_key: Option<Vec<u8>>,
    /// `allowedSigners`: base58 addresses of a multisig wallet's other signers.
    pub allowed_signers: Vec<String>,
}

/// A JSON number or decimal string as `u64`.
#[must_use]
pub fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// A JSON boolean, or `"true"`/`"false"`.
#[must_use]
pub fn as_bool(v: &Value) -> Option<bool> {
    v.as_bool().or_else(|| match v.as_str()?.trim() {
        s if s.eq_ignore_ascii_case("true") => Some(true),
        s if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn of(v: &'a Value, what: &str) -> Result<Self, FieldError> {
        v.as_object()
            .map(Fields)
            .ok_or_else(|| FieldError::new("", format!("{what} is not a JSON object")))
    }

    /// The field, `null` counting as absent.
    fn opt(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// An optional field, read by `read` unless absent or `null`.
    fn optional<T>(
        &self,
        name: &str,
        read: impl FnOnce(&Self, &str) -> Result<T, FieldError>,
    ) -> Result<Option<T>, FieldError> {
        self.opt(name).map(|_| read(self, name)).transpose()
    }

    fn req(&self, name: &str) -> Result<&'a Value, FieldError> {
        self.opt(name)
            .ok_or_else(|| FieldError::new(name, "missing"))
    }

    fn str(&self, name: &str) -> Result<&'a str, FieldError> {
        self.req(name)?
            .as_str()
            .ok_or_else(|| FieldError::new(name, "not a string"))
    }

    fn u64(&self, name: &str) -> Result<u64, FieldError> {
        let v = self.req(name)?;
        as_u64(v).ok_or_else(|| FieldError::new(name, format!("not an unsigned integer: {v}")))
    }

    fn u32(&self, name: &str) -> Result<u32, FieldError> {
        u32::try_from(self.u64(name)?).map_err(|_| FieldError::new(name, "out of range"))
    }

    fn number(&self, name: &str) -> Result<IxiNumber, FieldError> {
        let v = self.req(name)?;
        let text = match v {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => return Err(FieldError::new(name, "not an IxiNumber")),
        };
        IxiNumber::from_str(&text)
            .map_err(|e| FieldError::new(name, format!("not an IxiNumber ({text:?}): {e}")))
    }

    fn hex(&self, name: &str) -> Result<Vec<u8>, FieldError> {
        hex::decode(self.str(name)?.trim())
            .map_err(|e| FieldError::new(name, format!("not hex: {e}")))
    }

    fn base64(&self, name: &str) -> Result<Vec<u8>, FieldError> {
        base64::engine::general_purpose::STANDARD
            .decode(self.str(name)?.trim())
            .map_err(|e| FieldError::new(name, format!("not base64: {e}")))
    }

    /// A list that may arrive double-encoded (a JSON string holding a JSON array).
    fn list(&self, name: &str) -> Result<Option<Vec<Value>>, FieldError> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items.clone())),
            Some(Value::String(text)) if text.trim().is_empty() || text.trim() == "null" => {
                Ok(Some(Vec::new()))
            }
            Some(Value::String(text)) => match serde_json::from_str(text) {
                Ok(Value::Array(items)) => Ok(Some(items)),
                Ok(Value::Null) => Ok(Some(Vec::new())),
                Ok(_) => Err(FieldError::new(
                    name,
                    "the string does not hold a JSON array",
                )),
                Err(e) => Err(FieldError::new(
                    name,
                    format!("the string is not a JSON array: {e}"),
                )),
            },
            Some(_) => Err(FieldError::new(name, "neither a JSON array nor a string")),
        }
    }
}

impl Block {
    /// Parses `getblock`/`getfullblock`'s `result`.
    ///
    /// # Errors
    /// [`FieldError`] naming the first field that is missing or malformed.
    pub fn from_json(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v, "result")?;
        let number = f.u64("Block Number")?;
        let version = f.u32("Version")?;
        let checksum = f.hex("Block Checksum")?;
        if checksum.is_empty() {
            return Err(FieldError::new("Block Checksum", "empty"));
        }
        let (name, list) = match f.list("Frozen Signatures")? {
            Some(list) => ("Frozen Signatures", list),
            None => (
                "Signatures",
                f.list("Signatures")?
                    .ok_or_else(|| FieldError::new("Signatures", "missing"))?,
            ),
        };
        let signatures = list
            .iter()
            .enumerate()
            .map(|(i, s)| {
                BlockSignature::from_json(s).map_err(|e| e.under(&format!("{name}[{i}]")))
            })
            .collect::<Result<_, _>>()?;
        let transactions = match f.list("Transactions")? {
            None => None,
            Some(list) => Some(
                list.iter()
                    .enumerate()
                    .map(|(i, t)| {
                        Transaction::from_json(t)
                            .map_err(|e| e.under(&format!("Transactions[{i}]")))
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Self {
            number,
            version,
            checksum,
            signatures,
            required_signer_difficulty: f.optional("Required Signer Difficulty", Fields::number)?,
            total_signer_difficulty: f.optional("Total Signer Difficulty", Fields::number)?,
            transactions,
        })
    }
}

impl BlockSignature {
    /// Parses one element of the signature list.
    ///
    /// # Errors
    /// [`FieldError`].
    pub fn from_json(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v, "the signature")?;
        let pow = match f.opt("powSolution") {
            None => None,
            Some(p) => Some(PowSolution::from_json(p).map_err(|e| e.under("powSolution"))?),
        };
        Ok(Self {
            signature: f.base64("signature")?,
            recipient: f.str("recipientPubKeyOrAddress")?.trim().to_owned(),
            pow,
        })
    }
}

impl PowSolution {
    /// Parses a `powSolution` object.
    ///
    /// # Errors
    /// [`FieldError`].
    pub fn from_json(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v, "powSolution")?;
        Ok(Self {
            block_num: f.u64("blockNum")?,
            solution: f.base64("solution")?,
            signing_pub_key: f.base64("signingPubKey")?,
            difficulty: f.number("difficulty")?,
        })
    }
}

impl Transaction {
    /// Parses one transaction object.
    ///
    /// # Errors
    /// [`FieldError`].
    pub fn from_json(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v, "the transaction")?;
        let data = f.optional("data", Fields::hex)?;
        Ok(Self {
            id: f.str("id")?.to_owned(),
            version: f.u32("version")?,
            tx_type: f.u64("type")?,
            signature: f.hex("signature")?,
            pub_key: f.str("pubKey")?.trim().to_owned(),
            data,
            checksum: f.hex("checksum")?,
        })
    }
}

impl Wallet {
    /// Parses `getwallet`'s `result`.
    ///
    /// # Errors
    /// [`FieldError`].
    pub fn from_json(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v, "result")?;
        let public_key = match f.opt("publicKey") {
            Some(Value::String(s)) if s.trim().is_empty() || s.trim() == "null" => None,
            _ => f.optional("publicKey", Fields::hex)?,
        };
        let strings = |items: &[Value]| -> Vec<String> {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        };
        let allowed_signers = match f.opt("allowedSigners") {
            None => Vec::new(),
            Some(Value::Array(items)) => strings(items),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(items)) => strings(&items),
                _ => s
                    .split([',', ' ', ';'])
                    .map(str::trim)
                    .filter(|a| !a.is_empty() && *a != "null")
                    .map(str::to_owned)
                    .collect(),
            },
            Some(_) => return Err(FieldError::new("allowedSigners", "not a list")),
        };
        Ok(Self {
            id: f.str("id")?.to_owned(),
            public_key,
            allowed_signers,
        })
    }
}
