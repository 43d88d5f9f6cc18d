//! BEP 44 client side: the types `get_item` and `put_item` take, checked into the state
//! of a search.

use super::CommandError;
#[cfg(doc)]
use super::Dht;
use super::search::{ItemState, PutRequest};
use crate::bencode::RawValue;
use crate::id::Id;
use crate::krpc::{PUBLIC_KEY_LEN, SIGNATURE_LEN};
use crate::store::{
    ItemError, MAX_VALUE_LEN, MutableFields, SignatureSigner, SignatureVerifier, immutable_target,
    mutable_target, sign_item, signed_buffer,
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
        /// `salt`, at most [`MAX_SALT_LEN`](crate::store::MAX_SALT_LEN) bytes; never sent in a `get`.
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

/// The state of a `get_item` lookup, checked: a mutable one needs a verifier.
pub(crate) fn get_state(
    item: &ItemTarget<'_>,
    verifier: Option<&dyn SignatureVerifier>,
) -> Result<ItemState, CommandError> {
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
        if verifier.is_none() {
            return Err(CommandError::Item(ItemError::NoVerifier));
        }
        state.key = Some(**key);
    }
    Ok(state)
}

/// The state of a `put_item` search, checked as a storing node would check it.
pub(crate) fn put_state(
    value: RawValue<'_>,
    mutable: Option<&MutableItem<'_>>,
    verifier: Option<&dyn SignatureVerifier>,
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
            if let Some(v) = verifier {
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
    let state = ItemState::putting(Box::new(PutRequest {
        value: value.as_bytes().into(),
        mutable: fields,
    }));
    Ok((target, state))
}
