//! A BEP 44 get's or put's side of a search: what is looked for, found, put.

use crate::id::Id;
use crate::krpc::{ErrorCode, PUBLIC_KEY_LEN, Response};
use crate::store::{
    Item, MAX_SALT_LEN, MutableFields, SignatureVerifier, is_valid_immutable, signed_buffer,
};
use alloc::boxed::Box;
use arrayvec::ArrayVec;

/// What [`ItemState::check`] made of a `get` answer.
pub(crate) enum Checked {
    /// No item in the answer.
    Absent,
    /// A mutable item no newer than the best found: not checked.
    Stale,
    /// A valid item.
    Valid(Item),
    /// An item that fails its check: forged or corrupt.
    Invalid,
}

/// What a `put` sends: each query to a node that gave a token holds a copy.
#[derive(Clone, Debug)]
pub(crate) struct PutRequest {
    pub(crate) value: Box<[u8]>,
    pub(crate) mutable: Option<(MutableFields, Option<i64>)>,
}

/// The item side of a get or put search.
#[derive(Clone, Debug)]
pub(crate) struct ItemState {
    /// For a mutable item, the key answers must carry (and the salt they are signed with).
    pub(crate) key: Option<[u8; PUBLIC_KEY_LEN]>,
    pub(crate) salt: ArrayVec<u8, MAX_SALT_LEN>,
    /// The best valid item found: the immutable one, or the highest `seq`.
    pub(crate) best: Option<Item>,
    pub(crate) put: Option<Box<PutRequest>>,
    /// Nodes that answered the put with an error, and the first error's code.
    pub(crate) refused: usize,
    pub(crate) error: Option<ErrorCode>,
}

impl ItemState {
    /// The state of a put of `put`, already checked.
    pub(crate) fn putting(put: Box<PutRequest>) -> Self {
        ItemState {
            key: None,
            salt: ArrayVec::new(),
            best: None,
            put: Some(put),
            refused: 0,
            error: None,
        }
    }

    pub(crate) fn is_immutable(&self) -> bool {
        self.key.is_none()
    }

    /// Whether `item` beats the best so far (immutable: any; mutable: a higher `seq`).
    pub(crate) fn is_better(&self, item: &Item) -> bool {
        match (&self.best, item.seq()) {
            (None, _) => true,
            (Some(best), Some(seq)) => best.seq().is_some_and(|b| seq > b),
            (Some(_), None) => false,
        }
    }

    pub(crate) fn record_refusal(&mut self, code: ErrorCode) {
        self.refused = self.refused.saturating_add(1);
        self.error.get_or_insert(code);
    }

    /// The item in a `get` answer, checked for the lookup: the value hashes to the
    /// target (immutable), or the key is the one asked for and the signature verifies
    /// (mutable). A mutable item no newer than the best so far is not checked.
    pub(crate) fn check(
        &self,
        target: &Id,
        r: &Response<'_>,
        verifier: Option<&dyn SignatureVerifier>,
    ) -> Checked {
        let Some(value) = r.value else {
            return Checked::Absent;
        };
        let Some(key) = &self.key else {
            return if is_valid_immutable(target, value) {
                Checked::Valid(Item::from_parts(value.as_bytes().into(), None))
            } else {
                Checked::Invalid
            };
        };
        let (Some(k), Some(signature), Some(seq)) = (r.key, r.signature, r.seq) else {
            return Checked::Invalid;
        };
        if k != key || seq < 0 {
            return Checked::Invalid;
        }
        // Not newer than the best so far: not worth a signature check (the costly part).
        if self
            .best
            .as_ref()
            .and_then(Item::seq)
            .is_some_and(|b| seq <= b)
        {
            return Checked::Stale;
        }
        let verified = signed_buffer(&self.salt, seq, value)
            .is_ok_and(|signed| verifier.is_some_and(|v| v.verify(key, &signed, signature)));
        if !verified {
            return Checked::Invalid;
        }
        Checked::Valid(Item::from_parts(
            value.as_bytes().into(),
            Some(MutableFields {
                key: *key,
                signature: *signature,
                seq,
                salt: self.salt.as_slice().into(),
            }),
        ))
    }
}
