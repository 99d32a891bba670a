//! The audit chain: every audit record carries the hash of the record before it, so that editing, deleting or
//! reordering a stored record breaks the chain at that record. This module only computes and checks hashes;
//! the store appends records and streams them back for verification.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record of a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an audit record that the hash covers, in their stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFields<'a> {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// When it happened, Unix milliseconds UTC.
    pub at_ms: i64,
    /// The acting account id, if any.
    pub actor_account: Option<i64>,
    /// A label for the actor: a username, `token:<id>`, `system`, or `anonymous`.
    pub actor_label: &'a str,
    /// What was done or attempted, for example `member.update` or `member.reveal`.
    pub action: &'a str,
    /// The kind of object, for example `member`.
    pub object_type: &'a str,
    /// The object's id, if any.
    pub object_id: Option<&'a str>,
    /// `allow` or `deny`.
    pub decision: &'a str,
    /// Why it was denied (a reason code), or empty.
    pub reason: &'a str,
    /// The purpose the actor declared, or empty.
    pub purpose: &'a str,
    /// Further details as JSON text.
    pub details: &'a str,
}

/// The hash of a record given the hash of the record before it: hex SHA-256 over a length-prefixed encoding
/// of every field, so that no two different records encode alike.
pub fn chain_hash(prev_hash: &str, fields: &AuditFields<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut put = |part: &[u8]| {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    };
    put(prev_hash.as_bytes());
    put(&fields.seq.to_be_bytes());
    put(&fields.at_ms.to_be_bytes());
    put(fields.actor_account.map(|id| id.to_string()).unwrap_or_default().as_bytes());
    put(fields.actor_label.as_bytes());
    put(fields.action.as_bytes());
    put(fields.object_type.as_bytes());
    put(fields.object_id.unwrap_or("").as_bytes());
    put(fields.decision.as_bytes());
    put(fields.reason.as_bytes());
    put(fields.purpose.as_bytes());
    put(fields.details.as_bytes());
    let digest = hasher.finalize();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// How a stored record fails to continue the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The sequence number is not the one after the previous record: a record was deleted or inserted.
    SequenceGap { expected: i64 },
    /// The stored `prev_hash` is not the previous record's hash: the previous record was replaced or removed.
    PrevHashMismatch,
    /// The stored hash is not the hash of the stored fields: this record was edited.
    HashMismatch,
    /// The record's stored hash is not the one an anchor signed for it: it was changed, and the chain re-hashed,
    /// after it was anchored.
    NotAsAnchored {
        /// When the anchor that says otherwise was signed, Unix ms UTC.
        anchored_at_ms: i64,
    },
    /// The anchor starting at this record does not verify under the key it names, or names a key nobody trusts:
    /// the anchors were altered.
    BadAnchorSignature,
    /// No anchor covers this record although later records are anchored: anchors were removed.
    AnchorMissing,
    /// An anchor covers this record, but the chain ends before it: records at the end were removed.
    RecordsMissing,
}

impl ChainBreak {
    /// A stable code for the break.
    pub fn code(&self) -> &'static str {
        match self {
            ChainBreak::SequenceGap { .. } => "sequence_gap",
            ChainBreak::PrevHashMismatch => "prev_hash_mismatch",
            ChainBreak::HashMismatch => "hash_mismatch",
            ChainBreak::NotAsAnchored { .. } => "not_as_anchored",
            ChainBreak::BadAnchorSignature => "bad_anchor_signature",
            ChainBreak::AnchorMissing => "anchor_missing",
            ChainBreak::RecordsMissing => "records_missing",
        }
    }
}

/// Walks a chain one record at a time.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_seq: i64,
    last_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { expected_seq: 1, last_hash: GENESIS_HASH.to_string() }
    }
}

impl ChainVerifier {
    /// Checks the next stored record (its fields, stored `prev_hash` and stored `hash`).
    pub fn check(&mut self, fields: &AuditFields<'_>, stored_prev_hash: &str, stored_hash: &str) -> Result<(), ChainBreak> {
        if fields.seq != self.expected_seq {
            return Err(ChainBreak::SequenceGap { expected: self.expected_seq });
        }
        if stored_prev_hash != self.last_hash {
            return Err(ChainBreak::PrevHashMismatch);
        }
        if chain_hash(stored_prev_hash, fields) != stored_hash {
            return Err(ChainBreak::HashMismatch);
        }
        self.expected_seq += 1;
        self.last_hash = stored_hash.to_string();
        Ok(())
    }

    /// How many records have been checked.
    pub fn checked(&self) -> i64 {
        self.expected_seq - 1
    }
}

/// What an anchor signs: that the chain held exactly these records, with these hashes, at this time. The record
/// hashes are the raw 32-byte SHA-256 values, in order from `first_seq` to `last_seq`; the message covers their
/// digest, so the signature is short and any one hash that differs is found by comparing them one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorStatement<'a> {
    /// The first record covered.
    pub first_seq: i64,
    /// The last record covered (the chain's head when the anchor was made).
    pub last_seq: i64,
    /// When the anchor was made, Unix ms UTC.
    pub at_ms: i64,
    /// The id of the key that signs it ([`PublicKey::key_id`]).
    pub key_id: &'a str,
    /// The record hashes, 32 bytes each, `last_seq - first_seq + 1` of them.
    pub hashes: &'a [u8],
}

/// The domain separation of anchor signatures, so that no other signed message can pass for an anchor.
const ANCHOR_CONTEXT: &[u8] = b"gridline-audit-anchor/1";

impl AnchorStatement<'_> {
    /// The bytes that are signed.
    pub fn message(&self) -> Vec<u8> {
        let mut message = Vec::with_capacity(128);
        let mut put = |part: &[u8]| {
            message.extend_from_slice(&(part.len() as u64).to_be_bytes());
            message.extend_from_slice(part);
        };
        put(ANCHOR_CONTEXT);
        put(&self.first_seq.to_be_bytes());
        put(&self.last_seq.to_be_bytes());
        put(&self.at_ms.to_be_bytes());
        put(self.key_id.as_bytes());
        put(&Sha256::digest(self.hashes));
        message
    }

    /// Whether the statement is well-formed: a non-empty range with exactly one hash per record.
    pub fn is_well_formed(&self) -> bool {
        self.first_seq >= 1
            && self.last_seq >= self.first_seq
            && u64::try_from(self.last_seq - self.first_seq + 1).is_ok_and(|n| n.checked_mul(32) == Some(self.hashes.len() as u64))
    }

    /// The signed hash of record `seq`, as hex, if the statement covers it.
    pub fn hash_of(&self, seq: i64) -> Option<String> {
        if seq < self.first_seq || seq > self.last_seq {
            return None;
        }
        let start = usize::try_from(seq - self.first_seq).ok()?.checked_mul(32)?;
        self.hashes.get(start..start + 32).map(to_hex)
    }
}

/// A public key that anchors may be checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Reads a key from its 64 hex characters.
    pub fn from_hex(text: &str) -> Option<PublicKey> {
        let bytes: [u8; 32] = from_hex(text.trim())?.try_into().ok()?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok().map(PublicKey)
    }

    /// The key as 64 hex characters.
    pub fn to_hex(&self) -> String {
        to_hex(self.0.as_bytes())
    }

    /// A short stable id: the first 16 hex characters of the key's SHA-256.
    pub fn key_id(&self) -> String {
        to_hex(&Sha256::digest(self.0.as_bytes()))[..16].to_string()
    }

    /// Whether `signature` (128 hex characters) is this key's signature of `statement`.
    pub fn verifies(&self, statement: &AnchorStatement<'_>, signature: &str) -> bool {
        let Some(bytes) = from_hex(signature).and_then(|b| <[u8; 64]>::try_from(b).ok()) else { return false };
        statement.is_well_formed()
            && statement.key_id == self.key_id()
            && self.0.verify_strict(&statement.message(), &ed25519_dalek::Signature::from_bytes(&bytes)).is_ok()
    }
}

/// The key that signs anchors. It lives outside the database (a file only the server can read), so that whoever
/// controls the database cannot sign.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public_key().key_id())
    }
}

impl SigningKey {
    /// The key made from 32 secret random bytes.
    pub fn from_seed(seed: [u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// Reads a key from its 64 hex characters (the seed).
    pub fn from_hex(text: &str) -> Option<SigningKey> {
        let seed: [u8; 32] = from_hex(text.trim())?.try_into().ok()?;
        Some(SigningKey::from_seed(seed))
    }

    /// The seed as 64 hex characters (to write the key file).
    pub fn to_hex(&self) -> String {
        to_hex(self.0.as_bytes())
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs an anchor; the signature as 128 hex characters.
    pub fn sign(&self, statement: &AnchorStatement<'_>) -> String {
        use ed25519_dalek::Signer as _;
        to_hex(&self.0.sign(&statement.message()).to_bytes())
    }
}

/// Lower-case hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Bytes of a hex string, `None` if it is not hex of whole bytes.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: i64, action: &str) -> AuditFields<'_> {
        AuditFields {
            seq,
            at_ms: 1_700_000_000_000 + seq,
            actor_account: Some(1),
            actor_label: "admin",
            action,
            object_type: "member",
            object_id: Some("7"),
            decision: "allow",
            reason: "",
            purpose: "",
            details: "{}",
        }
    }

    #[test]
    fn a_valid_chain_verifies_and_any_edit_breaks_it() {
        let actions = ["member.create", "member.update", "member.reveal"];
        let mut stored = Vec::new();
        let mut prev = GENESIS_HASH.to_string();
        for (index, action) in actions.iter().enumerate() {
            let fields = record(index as i64 + 1, action);
            let hash = chain_hash(&prev, &fields);
            stored.push((fields, prev.clone(), hash.clone()));
            prev = hash;
        }
        let mut verifier = ChainVerifier::default();
        for (fields, prev, hash) in &stored {
            verifier.check(fields, prev, hash).unwrap();
        }
        assert_eq!(verifier.checked(), 3);

        // An edited field.
        let mut verifier = ChainVerifier::default();
        verifier.check(&stored[0].0, &stored[0].1, &stored[0].2).unwrap();
        let edited = AuditFields { decision: "deny", ..stored[1].0.clone() };
        assert_eq!(verifier.check(&edited, &stored[1].1, &stored[1].2), Err(ChainBreak::HashMismatch));

        // A deleted record.
        let mut verifier = ChainVerifier::default();
        verifier.check(&stored[0].0, &stored[0].1, &stored[0].2).unwrap();
        assert_eq!(verifier.check(&stored[2].0, &stored[2].1, &stored[2].2), Err(ChainBreak::SequenceGap { expected: 2 }));

        // A record rewritten with a recomputed hash breaks the link of the next one.
        let mut verifier = ChainVerifier::default();
        let forged = AuditFields { actor_label: "someone-else", ..stored[0].0.clone() };
        let forged_hash = chain_hash(GENESIS_HASH, &forged);
        verifier.check(&forged, GENESIS_HASH, &forged_hash).unwrap();
        assert_eq!(verifier.check(&stored[1].0, &stored[1].1, &stored[1].2), Err(ChainBreak::PrevHashMismatch));
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let a = AuditFields { reason: "ab", purpose: "c", ..record(1, "x") };
        let b = AuditFields { reason: "a", purpose: "bc", ..record(1, "x") };
        assert_ne!(chain_hash(GENESIS_HASH, &a), chain_hash(GENESIS_HASH, &b));
    }

    #[test]
    fn anchors_verify_only_under_their_key_and_only_unchanged() {
        let key = SigningKey::from_seed([7; 32]);
        let other = SigningKey::from_seed([8; 32]);
        let hashes: Vec<u8> = (0..3u8).flat_map(|i| [i; 32]).collect();
        let key_id = key.public_key().key_id();
        let statement = AnchorStatement { first_seq: 5, last_seq: 7, at_ms: 1_000, key_id: &key_id, hashes: &hashes };
        assert!(statement.is_well_formed());
        let signature = key.sign(&statement);
        assert!(key.public_key().verifies(&statement, &signature));
        assert!(!other.public_key().verifies(&statement, &signature), "another key does not verify it");
        let mut changed = hashes.clone();
        changed[40] ^= 1;
        assert!(!key.public_key().verifies(&AnchorStatement { hashes: &changed, ..statement.clone() }, &signature));
        assert!(!key.public_key().verifies(&AnchorStatement { last_seq: 8, ..statement.clone() }, &signature));
        assert!(!key.public_key().verifies(&statement, "00"), "a malformed signature fails, it does not panic");
        assert_eq!(statement.hash_of(6), Some(to_hex(&[1; 32])));
        assert_eq!(statement.hash_of(8), None);
        // Keys round-trip through their hex forms.
        assert_eq!(PublicKey::from_hex(&key.public_key().to_hex()), Some(key.public_key()));
        assert_eq!(SigningKey::from_hex(&key.to_hex()).unwrap().public_key(), key.public_key());
        assert_eq!(from_hex("0g"), None);
    }
}
