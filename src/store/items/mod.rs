//! The BEP 44 item store: what `put` stores and `get` returns.
//!
//! This file holds the store, its caps and its eviction policy; `rules` the BEP's limits,
//! the item targets and why a `put` is refused; `signature` the mutable items' signature
//! plumbing (the caller's verifier and signer, the signed buffer).

mod rules;
mod signature;

pub use rules::{
    ItemError, MAX_SALT_LEN, MAX_VALUE_LEN, immutable_target, is_valid_immutable, mutable_target,
    put_target,
};
pub use signature::{
    MAX_SIGNED_BUFFER_LEN, SignatureSigner, SignatureVerifier, sign_item, signed_buffer,
};

use super::{advance, bump, release};
use crate::bencode::RawValue;
use crate::id::Id;
use crate::krpc::{PUBLIC_KEY_LEN, Put, SIGNATURE_LEN};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use core::net::IpAddr;
use core::time::Duration;

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
