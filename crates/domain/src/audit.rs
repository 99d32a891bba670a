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
}

impl ChainBreak {
    /// A stable code for the break.
    pub fn code(&self) -> &'static str {
        match self {
            ChainBreak::SequenceGap { .. } => "sequence_gap",
            ChainBreak::PrevHashMismatch => "prev_hash_mismatch",
            ChainBreak::HashMismatch => "hash_mismatch",
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
}
