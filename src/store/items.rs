//! The BEP 44 item store: what `put` stores and `get` returns.

use super::{advance, bump, release};
use crate::bencode::RawValue;
use crate::id::Id;
use crate::krpc::{ErrorCode, PUBLIC_KEY_LEN, Put, SIGNATURE_LEN, encode_signed_buffer};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use arrayvec::ArrayVec;
use core::fmt;
use core::net::IpAddr;
use core::time::Duration;
use sha1::{Digest, Sha1};

/// BEP 44: the largest bencoded `v` a node stores (a longer one is refused with 205).
pub const MAX_VALUE_LEN: usize = 1000;

/// BEP 44: the longest `salt` (a longer one is refused with 207).
pub const MAX_SALT_LEN: usize = 64;

/// The longest signed buffer of a storable item: `4:salt64:` + 64 bytes of salt,
/// `3:seqi` + 20 characters of the lowest `i64` + `e`, `1:v` + 1000 bytes of value.
pub const MAX_SIGNED_BUFFER_LEN: usize = 9 + MAX_SALT_LEN + 6 + 20 + 1 + 3 + MAX_VALUE_LEN;

/// Checks ed25519 signatures of mutable items (BEP 44).
///
/// The crate has no ed25519 code of its own: the caller plugs in the implementation it
/// trusts (a `no_std` one on a microcontroller, a hardware one, or a crate such as
/// `ed25519-dalek`). Without a verifier, an [`ItemStore`] refuses every mutable item with
/// [`ItemError::NoVerifier`] — it never stores one unchecked.
///
/// ```
/// use btdht::store::SignatureVerifier;
///
/// /// A verifier for a test: accepts only an all-zero signature.
/// struct ZeroSig;
/// impl SignatureVerifier for ZeroSig {
///     fn verify(&self, _key: &[u8; 32], _message: &[u8], signature: &[u8; 64]) -> bool {
///         signature.iter().all(|&b| b == 0)
///     }
/// }
/// assert!(ZeroSig.verify(&[1; 32], b"3:seqi1e1:v1:x", &[0; 64]));
/// ```
pub trait SignatureVerifier {
    /// Whether `signature` is `key`'s ed25519 signature of `message`.
    fn verify(
        &self,
        key: &[u8; PUBLIC_KEY_LEN],
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> bool;
}

impl<V: SignatureVerifier + ?Sized> SignatureVerifier for &V {
    fn verify(
        &self,
        key: &[u8; PUBLIC_KEY_LEN],
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> bool {
        (**self).verify(key, message, signature)
    }
}

/// Signs mutable items (BEP 44) for publishing: the counterpart of [`SignatureVerifier`].
///
/// Like the verifier, the implementation is the caller's: a `no_std` one, a hardware key,
/// or, with the `ed25519` feature, [`Ed25519Signer`](crate::store::Ed25519Signer).
/// [`sign_item`] builds the signed buffer and calls [`SignatureSigner::sign`].
///
/// ```
/// use btdht::store::SignatureSigner;
///
/// /// A signer for a test: its "signature" is all zeroes.
/// struct ZeroSig;
/// impl SignatureSigner for ZeroSig {
///     fn public_key(&self) -> [u8; 32] {
///         [1; 32]
///     }
///     fn sign(&self, _message: &[u8]) -> [u8; 64] {
///         [0; 64]
///     }
/// }
/// assert_eq!(ZeroSig.sign(b"3:seqi1e1:v1:x"), [0; 64]);
/// ```
pub trait SignatureSigner {
    /// The ed25519 public key (`k`) the signatures verify under.
    fn public_key(&self) -> [u8; PUBLIC_KEY_LEN];

    /// The ed25519 signature of `message` by this key.
    fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN];
}

impl<S: SignatureSigner + ?Sized> SignatureSigner for &S {
    fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        (**self).public_key()
    }

    fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        (**self).sign(message)
    }
}

/// Signs a mutable item: the signature over [`signed_buffer`]`(salt, seq, value)`.
///
/// Refuses what no node would store: a salt over [`MAX_SALT_LEN`] bytes, a value over
/// [`MAX_VALUE_LEN`] bytes, a negative `seq`.
///
/// ```
/// use btdht::bencode::RawValue;
/// use btdht::store::{SignatureSigner, sign_item};
///
/// struct Echo; // "signs" with the first 64 bytes of the buffer, for the example
/// impl SignatureSigner for Echo {
///     fn public_key(&self) -> [u8; 32] { [0; 32] }
///     fn sign(&self, m: &[u8]) -> [u8; 64] {
///         let mut s = [0; 64];
///         s[..m.len().min(64)].copy_from_slice(&m[..m.len().min(64)]);
///         s
///     }
/// }
/// let sig = sign_item(&Echo, b"", 1, RawValue::new(b"1:x")?).unwrap();
/// assert_eq!(&sig[..13], b"3:seqi1e1:v1:");
/// # Ok::<(), btdht::bencode::Error>(())
/// ```
pub fn sign_item<S: SignatureSigner + ?Sized>(
    signer: &S,
    salt: &[u8],
    seq: i64,
    value: RawValue<'_>,
) -> Result<[u8; SIGNATURE_LEN], ItemError> {
    if seq < 0 {
        return Err(ItemError::InvalidSeq);
    }
    let buf = signed_buffer(salt, seq, value)?;
    Ok(signer.sign(&buf))
}

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

/// The bytes a mutable item's signature covers (BEP 44): `4:salt<len>:<salt>` when the
/// salt is not empty, then `3:seqi<seq>e1:v` and the bencoded value.
///
/// ```
/// use btdht::bencode::RawValue;
/// let v = RawValue::new(b"12:Hello World!")?;
/// let buf = btdht::store::signed_buffer(b"foobar", 1, v).unwrap();
/// assert_eq!(&buf[..], b"4:salt6:foobar3:seqi1e1:v12:Hello World!");
/// # Ok::<(), btdht::bencode::Error>(())
/// ```
pub fn signed_buffer(
    salt: &[u8],
    seq: i64,
    value: RawValue<'_>,
) -> Result<ArrayVec<u8, MAX_SIGNED_BUFFER_LEN>, ItemError> {
    if salt.len() > MAX_SALT_LEN {
        return Err(ItemError::SaltTooBig);
    }
    if value.as_bytes().len() > MAX_VALUE_LEN {
        return Err(ItemError::ValueTooBig);
    }
    let mut buf = [0u8; MAX_SIGNED_BUFFER_LEN];
    // The bounds above make every buffer fit; a failure here would be a bug, reported as
    // the value being too big rather than a panic.
    let len = encode_signed_buffer(salt, seq, value, &mut buf).ok_or(ItemError::ValueTooBig)?;
    let mut out = ArrayVec::new();
    out.try_extend_from_slice(buf.get(..len).unwrap_or_default())
        .map_err(|_| ItemError::ValueTooBig)?;
    Ok(out)
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
    /// No [`SignatureVerifier`] was given, so no mutable item can be accepted (201).
    NoVerifier,
    /// `cas` differs from the stored `seq` (301).
    CasMismatch,
    /// `seq` is lower than the stored one (302).
    SeqTooLow,
    /// The putter's IP holds [`ItemStoreConfig::max_items_per_ip`] items already (202).
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

/// Caps and lifetimes of an [`ItemStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemStoreConfig {
    /// Items held at once (default 700, libtorrent's `dht_max_dht_items`): at most about
    /// 0.8 MB with 1000-byte values.
    pub max_items: usize,
    /// Items whose latest `put` came from one IP address (default 32).
    pub max_items_per_ip: usize,
    /// How long an item is kept without a new `put` (default 2 hours, BEP 44's "MAY
    /// expire after 2 hours").
    pub item_ttl: Duration,
    /// An item put less than this long ago is never evicted to make room (default 1 hour,
    /// BEP 44's re-announce interval).
    pub protect_for: Duration,
}

impl Default for ItemStoreConfig {
    fn default() -> Self {
        ItemStoreConfig {
            max_items: 700,
            max_items_per_ip: 32,
            item_ttl: Duration::from_secs(2 * 60 * 60),
            protect_for: Duration::from_secs(60 * 60),
        }
    }
}

/// The fields only a mutable item has.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MutableFields {
    /// `k`: the ed25519 public key.
    pub key: [u8; PUBLIC_KEY_LEN],
    /// `sig`: the signature over salt, seq and value.
    pub signature: [u8; SIGNATURE_LEN],
    /// `seq`
    pub seq: i64,
    /// `salt` (empty when none); never sent in a `get` answer.
    pub salt: Box<[u8]>,
}

/// A stored BEP 44 item.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Item {
    value: Box<[u8]>,
    mutable: Option<MutableFields>,
}

impl Item {
    /// An item whose value is valid bencode (checked by the caller).
    pub(crate) fn from_parts(value: Box<[u8]>, mutable: Option<MutableFields>) -> Self {
        Item { value, mutable }
    }

    /// `v`, bencoded (checked when stored).
    pub fn value(&self) -> RawValue<'_> {
        // Only checked values are stored.
        RawValue::from_checked(&self.value)
    }

    /// The mutable fields; `None` for an immutable item.
    pub fn mutable(&self) -> Option<&MutableFields> {
        self.mutable.as_ref()
    }

    /// The item's `seq`, for a mutable item.
    pub fn seq(&self) -> Option<i64> {
        self.mutable.as_ref().map(|m| m.seq)
    }
}

/// What [`ItemStore::put`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stored {
    /// A new item, in free room.
    Added,
    /// A new item, in room made by evicting a stale one.
    AddedByEviction,
    /// The same item was stored: its expiry was refreshed.
    Refreshed,
    /// A mutable item replaced by a newer (or equal-`seq`) version.
    Updated,
}

#[derive(Debug)]
struct Slot {
    item: Item,
    put_at: Instant,
    owner: IpAddr,
}

/// BEP 44 items put by other nodes, with the BEP's rules and bounded memory.
///
/// [`ItemStore::put`] applies, in this order: value at most [`MAX_VALUE_LEN`] bytes
/// (205) and canonical bencode (203); for a mutable item, salt at most [`MAX_SALT_LEN`]
/// bytes (207), a non-negative `seq` (203), a valid signature (206, or
/// [`ItemError::NoVerifier`] when there is no verifier), then against the stored version:
/// `cas`, when given, equal to the stored `seq` (301), and `seq` not lower than the stored
/// one (302). An equal `seq` replaces the item (as libtorrent does: both versions are
/// signed by the key's owner) and refreshes its expiry. The caller checks the token first.
///
/// # Eviction
///
/// As in the [peer store](super::PeerStore#eviction): an IP address is the owner of the
/// items whose latest `put` it sent, and owns at most `max_items_per_ip`; when the store
/// is full, a new item replaces the least recently put item only if that was put more
/// than `protect_for` ago, else it is refused. Publishers re-put every hour, so their
/// items stay protected.
///
/// ```
/// use btdht::bencode::RawValue;
/// use btdht::krpc::Put;
/// use btdht::store::{ItemStore, ItemStoreConfig, Stored, immutable_target};
/// use btdht::time::Instant;
///
/// let mut store = ItemStore::new(ItemStoreConfig::default());
/// let value = RawValue::new(b"12:Hello World!")?;
/// let put = Put { token: b"tok", value, mutable: None };
/// let now = Instant::from_millis(0);
/// let from = "203.0.113.5".parse().unwrap();
/// let (target, stored) = store.put(now, from, &put, None::<&dyn btdht::store::SignatureVerifier>).unwrap();
/// assert_eq!(stored, Stored::Added);
/// assert_eq!(target, immutable_target(value));
/// assert_eq!(store.get(now, &target).map(|i| i.value()), Some(value));
/// # Ok::<(), btdht::bencode::Error>(())
/// ```
#[derive(Debug)]
pub struct ItemStore {
    config: ItemStoreConfig,
    items: BTreeMap<Id, Slot>,
    /// Every item by its latest put: the least recently put first.
    by_activity: BTreeSet<(Instant, Id)>,
    per_ip: BTreeMap<IpAddr, u32>,
    now: Instant,
}

impl ItemStore {
    /// An empty store.
    pub fn new(config: ItemStoreConfig) -> Self {
        ItemStore {
            config,
            items: BTreeMap::new(),
            by_activity: BTreeSet::new(),
            per_ip: BTreeMap::new(),
            now: Instant::ZERO,
        }
    }

    /// The settings.
    pub fn config(&self) -> &ItemStoreConfig {
        &self.config
    }

    /// Items held, including expired ones not yet swept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no item is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item stored under `target`, unless it expired.
    pub fn get(&self, now: Instant, target: &Id) -> Option<&Item> {
        let ttl = self.config.item_ttl;
        self.items
            .get(target)
            .filter(|s| s.put_at + ttl > now)
            .map(|s| &s.item)
    }

    /// Checks and stores a `put` received from `from` (whose token the caller checked);
    /// returns the item's target and what happened. See the [rules](ItemStore).
    pub fn put<V: SignatureVerifier>(
        &mut self,
        now: Instant,
        from: IpAddr,
        put: &Put<'_>,
        verifier: Option<V>,
    ) -> Result<(Id, Stored), ItemError> {
        let now = advance(&mut self.now, now);
        let value = put.value;
        if value.as_bytes().len() > MAX_VALUE_LEN {
            return Err(ItemError::ValueTooBig);
        }
        if !value.is_canonical() {
            return Err(ItemError::NotCanonical);
        }
        let target = put_target(put);
        let mutable = match &put.mutable {
            None => None,
            Some(m) => {
                let salt = m.salt.unwrap_or_default();
                if salt.len() > MAX_SALT_LEN {
                    return Err(ItemError::SaltTooBig);
                }
                if m.seq < 0 {
                    return Err(ItemError::InvalidSeq);
                }
                let Some(verifier) = verifier else {
                    return Err(ItemError::NoVerifier);
                };
                let signed = signed_buffer(salt, m.seq, value)?;
                if !verifier.verify(m.key, &signed, m.signature) {
                    return Err(ItemError::InvalidSignature);
                }
                if let Some(old) = self.get(now, &target).and_then(Item::seq) {
                    if m.cas.is_some_and(|cas| cas != old) {
                        return Err(ItemError::CasMismatch);
                    }
                    if m.seq < old {
                        return Err(ItemError::SeqTooLow);
                    }
                }
                Some(MutableFields {
                    key: *m.key,
                    signature: *m.signature,
                    seq: m.seq,
                    salt: salt.into(),
                })
            }
        };
        self.expire_one(now, &target);
        let from = from.to_canonical();

        if let Some(slot) = self.items.get_mut(&target) {
            let same = *slot.item.value == *value.as_bytes() && slot.item.mutable == mutable;
            if slot.owner != from {
                let held = self.per_ip.get(&from).map_or(0, |&c| c as usize);
                if held >= self.config.max_items_per_ip {
                    return Err(ItemError::IpLimit);
                }
                release(&mut self.per_ip, slot.owner);
                bump(&mut self.per_ip, from);
                slot.owner = from;
            }
            self.by_activity.remove(&(slot.put_at, target));
            self.by_activity.insert((now, target));
            slot.put_at = now;
            if same {
                return Ok((target, Stored::Refreshed));
            }
            slot.item = Item {
                value: value.as_bytes().into(),
                mutable,
            };
            return Ok((target, Stored::Updated));
        }

        let held = self.per_ip.get(&from).map_or(0, |&c| c as usize);
        if held >= self.config.max_items_per_ip {
            return Err(ItemError::IpLimit);
        }
        let mut evicted = false;
        if self.items.len() >= self.config.max_items {
            let protect = self.config.protect_for;
            match self.by_activity.first().copied() {
                Some((put_at, victim)) if put_at + protect <= now => {
                    self.remove(&victim);
                    evicted = true;
                }
                _ => return Err(ItemError::StoreFull),
            }
        }
        self.items.insert(
            target,
            Slot {
                item: Item {
                    value: value.as_bytes().into(),
                    mutable,
                },
                put_at: now,
                owner: from,
            },
        );
        self.by_activity.insert((now, target));
        bump(&mut self.per_ip, from);
        Ok((
            target,
            if evicted {
                Stored::AddedByEviction
            } else {
                Stored::Added
            },
        ))
    }

    /// Drops every expired item; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let now = advance(&mut self.now, now);
        let ttl = self.config.item_ttl;
        let mut removed = 0usize;
        while let Some(&(put_at, id)) = self.by_activity.first() {
            if put_at + ttl > now {
                break;
            }
            self.remove(&id);
            removed = removed.saturating_add(1);
        }
        removed
    }

    fn expire_one(&mut self, now: Instant, target: &Id) {
        let ttl = self.config.item_ttl;
        if self
            .items
            .get(target)
            .is_some_and(|s| s.put_at + ttl <= now)
        {
            self.remove(target);
        }
    }

    fn remove(&mut self, target: &Id) {
        if let Some(slot) = self.items.remove(target) {
            self.by_activity.remove(&(slot.put_at, *target));
            release(&mut self.per_ip, slot.owner);
        }
    }
}
