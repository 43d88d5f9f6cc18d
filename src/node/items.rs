//! BEP 44 client side: `get_item` and `put_item`, the item lookups' answers, and the
//! types their commands take.

use super::{CommandError, Dht};
use crate::bencode::RawValue;
use crate::id::Id;
use crate::krpc::{ErrorCode, PUBLIC_KEY_LEN, Response, SIGNATURE_LEN};
use crate::store::{
    Item, ItemError, MAX_SALT_LEN, MAX_VALUE_LEN, MutableFields, SignatureSigner, immutable_target,
    is_valid_immutable, mutable_target, sign_item, signed_buffer,
};
use alloc::boxed::Box;
use arrayvec::ArrayVec;

/// Which BEP 44 item [`Dht::get_item`] looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemTarget<'a> {
    /// An immutable item, by its target: the SHA-1 of its bencoded value
    /// ([`immutable_target`]). Answers are checked against it.
    Immutable(Id),
    /// A mutable item, by its ed25519 public key and salt (empty: no salt). Answers are
    /// checked with the node's [`SignatureVerifier`](crate::store::SignatureVerifier);
    /// the highest valid `seq` wins.
    Mutable {
        /// `k`
        key: &'a [u8; PUBLIC_KEY_LEN],
        /// `salt`, at most [`MAX_SALT_LEN`] bytes; never sent in a `get`.
        salt: &'a [u8],
    },
}

impl ItemTarget<'_> {
    /// The 20-byte lookup target: the immutable target, or SHA-1 of key and salt.
    pub fn target(&self) -> Id {
        match self {
            ItemTarget::Immutable(id) => *id,
            ItemTarget::Mutable { key, salt } => mutable_target(key, salt),
        }
    }
}

/// The signed fields of a mutable item for [`Dht::put_item`].
///
/// [`MutableItem::sign`] makes one with a [`SignatureSigner`]; a republisher that holds
/// someone else's signed item fills the fields itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MutableItem<'a> {
    /// `k`: the public key the signature verifies under.
    pub key: [u8; PUBLIC_KEY_LEN],
    /// `salt` (empty: none).
    pub salt: &'a [u8],
    /// `seq`: higher than the stored one to replace it.
    pub seq: i64,
    /// `sig` over salt, `seq` and value ([`signed_buffer`]).
    pub signature: [u8; SIGNATURE_LEN],
    /// `cas`: replace only a stored item whose `seq` is this (else the node answers 301).
    pub cas: Option<i64>,
}

impl<'a> MutableItem<'a> {
    /// Signs `value` under `salt` and `seq` with `signer` (no `cas`).
    ///
    /// ```
    /// # #[cfg(feature = "ed25519")] {
    /// use btdht::bencode::RawValue;
    /// use btdht::node::MutableItem;
    /// use btdht::store::Ed25519Signer;
    ///
    /// let signer = Ed25519Signer::from_secret_key(&[9; 32]);
    /// let value = RawValue::new(b"5:hello").unwrap();
    /// let item = MutableItem::sign(&signer, b"my-salt", 1, value).unwrap().with_cas(0);
    /// assert_eq!((item.seq, item.cas), (1, Some(0)));
    /// # }
    /// ```
    pub fn sign<S: SignatureSigner + ?Sized>(
        signer: &S,
        salt: &'a [u8],
        seq: i64,
        value: RawValue<'_>,
    ) -> Result<Self, ItemError> {
        Ok(MutableItem {
            key: signer.public_key(),
            salt,
            seq,
            signature: sign_item(signer, salt, seq, value)?,
            cas: None,
        })
    }

    /// The same item, put only over a stored item whose `seq` is `cas`.
    pub fn with_cas(self, cas: i64) -> Self {
        MutableItem {
            cas: Some(cas),
            ..self
        }
    }
}

/// What [`Dht::checked_item`] made of a `get` answer.
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
    key: Option<[u8; PUBLIC_KEY_LEN]>,
    salt: ArrayVec<u8, MAX_SALT_LEN>,
    /// The best valid item found: the immutable one, or the highest `seq`.
    pub(crate) best: Option<Item>,
    pub(crate) put: Option<Box<PutRequest>>,
    /// Nodes that answered the put with an error, and the first error's code.
    pub(crate) refused: usize,
    pub(crate) error: Option<ErrorCode>,
}

impl ItemState {
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
}

impl Dht {
    /// The state of a `get_item` lookup, checked: a mutable one needs a verifier.
    pub(crate) fn item_get_state(&self, item: &ItemTarget<'_>) -> Result<ItemState, CommandError> {
        let mut state = ItemState {
            key: None,
            salt: ArrayVec::new(),
            best: None,
            put: None,
            refused: 0,
            error: None,
        };
        if let ItemTarget::Mutable { key, salt } = item {
            state.salt =
                ArrayVec::try_from(*salt).map_err(|_| CommandError::Item(ItemError::SaltTooBig))?;
            if self.verifier.is_none() {
                return Err(CommandError::Item(ItemError::NoVerifier));
            }
            state.key = Some(**key);
        }
        Ok(state)
    }

    /// The state of a `put_item` search, checked as a storing node would check it.
    pub(crate) fn item_put_state(
        &self,
        value: RawValue<'_>,
        mutable: Option<&MutableItem<'_>>,
    ) -> Result<(Id, ItemState), CommandError> {
        let refuse = |e| Err(CommandError::Item(e));
        if value.as_bytes().len() > MAX_VALUE_LEN {
            return refuse(ItemError::ValueTooBig);
        }
        if !value.is_canonical() {
            return refuse(ItemError::NotCanonical);
        }
        let (target, fields) = match mutable {
            None => (immutable_target(value), None),
            Some(m) => {
                if m.seq < 0 {
                    return refuse(ItemError::InvalidSeq);
                }
                let signed = signed_buffer(m.salt, m.seq, value).map_err(CommandError::Item)?;
                if let Some(v) = &self.verifier {
                    if !v.verify(&m.key, &signed, &m.signature) {
                        return refuse(ItemError::InvalidSignature);
                    }
                }
                let fields = MutableFields {
                    key: m.key,
                    signature: m.signature,
                    seq: m.seq,
                    salt: m.salt.into(),
                };
                (mutable_target(&m.key, m.salt), Some((fields, m.cas)))
            }
        };
        let state = ItemState {
            key: None,
            salt: ArrayVec::new(),
            best: None,
            put: Some(Box::new(PutRequest {
                value: value.as_bytes().into(),
                mutable: fields,
            })),
            refused: 0,
            error: None,
        };
        Ok((target, state))
    }

    /// The item in a `get` answer, checked for the lookup: the value hashes to the
    /// target (immutable), or the key is the one asked for and the signature verifies
    /// (mutable). A mutable item no newer than the best so far is not checked.
    pub(crate) fn checked_item(&self, state: &ItemState, target: &Id, r: &Response<'_>) -> Checked {
        let Some(value) = r.value else {
            return Checked::Absent;
        };
        let Some(key) = &state.key else {
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
        if state
            .best
            .as_ref()
            .and_then(Item::seq)
            .is_some_and(|b| seq <= b)
        {
            return Checked::Stale;
        }
        let verified = signed_buffer(&state.salt, seq, value).is_ok_and(|signed| {
            self.verifier
                .as_ref()
                .is_some_and(|v| v.verify(key, &signed, signature))
        });
        if !verified {
            return Checked::Invalid;
        }
        Checked::Valid(Item::from_parts(
            value.as_bytes().into(),
            Some(MutableFields {
                key: *key,
                signature: *signature,
                seq,
                salt: state.salt.as_slice().into(),
            }),
        ))
    }
}
