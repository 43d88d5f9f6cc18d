//! BEP 44's rules for an item: the size limits, where an item is stored (its target), and
//! why a `put` is refused.

use crate::bencode::RawValue;
use crate::id::Id;
use crate::krpc::{ErrorCode, PUBLIC_KEY_LEN, Put};
use core::fmt;
use sha1::{Digest, Sha1};

/// BEP 44: the largest bencoded `v` a node stores (a longer one is refused with 205).
pub const MAX_VALUE_LEN: usize = 1000;

/// BEP 44: the longest `salt` (a longer one is refused with 207).
pub const MAX_SALT_LEN: usize = 64;

/// The target of an immutable item: SHA-1 of its bencoded value.
///
/// ```
/// use btdht::bencode::RawValue;
/// let v = RawValue::new(b"12:Hello World!")?;
/// assert_eq!(
///     btdht::store::immutable_target(v).to_string(),
///     "e5f96f6f38320f0f33959cb4d3d656452117aadb" // BEP 44 test 3
/// );
/// # Ok::<(), btdht::bencode::Error>(())
/// ```
pub fn immutable_target(value: RawValue<'_>) -> Id {
    Id::sha1(value.as_bytes())
}

/// Whether `value` is the immutable item of `target` (a getter checks every answer).
pub fn is_valid_immutable(target: &Id, value: RawValue<'_>) -> bool {
    immutable_target(value) == *target
}

/// The target of a mutable item: SHA-1 of the raw public key followed by the raw salt
/// (an empty salt and no salt give the same target).
///
/// ```
/// let key: [u8; 32] = *b"\x77\xff\x84\x90\x5a\x91\x93\x63\x67\xc0\x13\x60\x80\x31\x04\xf9\
///                       \x24\x32\xfc\xd9\x04\xa4\x35\x11\x87\x6d\xf5\xcd\xf3\xe7\xe5\x48";
/// assert_eq!(
///     btdht::store::mutable_target(&key, b"foobar").to_string(),
///     "411eba73b6f087ca51a3795d9c8c938d365e32c1" // BEP 44 test 2
/// );
/// ```
pub fn mutable_target(key: &[u8; PUBLIC_KEY_LEN], salt: &[u8]) -> Id {
    let mut h = Sha1::new();
    h.update(key);
    h.update(salt);
    Id::from_bytes(h.finalize().into())
}

/// The target a `put` writes to.
pub fn put_target(put: &Put<'_>) -> Id {
    match &put.mutable {
        None => immutable_target(put.value),
        Some(m) => mutable_target(m.key, m.salt.unwrap_or_default()),
    }
}

/// Why a `put` stored nothing. [`ItemError::code`] is the KRPC error to answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemError {
    /// The bencoded value is longer than [`MAX_VALUE_LEN`] (205).
    ValueTooBig,
    /// The salt is longer than [`MAX_SALT_LEN`] (207).
    SaltTooBig,
    /// The value is not canonical bencode (unsorted dictionary keys) (203).
    NotCanonical,
    /// A negative `seq` (203).
    InvalidSeq,
    /// The signature does not verify (206).
    InvalidSignature,
    /// No [`SignatureVerifier`](crate::store::SignatureVerifier) was given, so no mutable
    /// item can be accepted (201).
    NoVerifier,
    /// `cas` differs from the stored `seq` (301).
    CasMismatch,
    /// `seq` is lower than the stored one (302).
    SeqTooLow,
    /// The putter's IP holds
    /// [`ItemStoreConfig::max_items_per_ip`](crate::store::ItemStoreConfig::max_items_per_ip)
    /// items already (202).
    IpLimit,
    /// The store holds its maximum of items and none is stale (202).
    StoreFull,
}

impl ItemError {
    /// The KRPC error code to answer the `put` with.
    pub const fn code(self) -> ErrorCode {
        match self {
            ItemError::ValueTooBig => ErrorCode::ValueTooBig,
            ItemError::SaltTooBig => ErrorCode::SaltTooBig,
            ItemError::NotCanonical | ItemError::InvalidSeq => ErrorCode::Protocol,
            ItemError::InvalidSignature => ErrorCode::InvalidSignature,
            ItemError::NoVerifier => ErrorCode::Generic,
            ItemError::CasMismatch => ErrorCode::CasMismatch,
            ItemError::SeqTooLow => ErrorCode::SeqTooLow,
            ItemError::IpLimit | ItemError::StoreFull => ErrorCode::Server,
        }
    }

    /// The text for the error message.
    pub const fn message(self) -> &'static str {
        match self {
            ItemError::ValueTooBig => "v too big",
            ItemError::SaltTooBig => "salt too big",
            ItemError::NotCanonical => "v is not canonical bencode",
            ItemError::InvalidSeq => "negative seq",
            ItemError::InvalidSignature => "invalid signature",
            ItemError::NoVerifier => "mutable items not supported",
            ItemError::CasMismatch => "cas mismatch",
            ItemError::SeqTooLow => "sequence number less than current",
            ItemError::IpLimit => "too many items from this address",
            ItemError::StoreFull => "item store full",
        }
    }
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for ItemError {}
