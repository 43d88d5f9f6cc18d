//! Identifiers: node ids, info-hashes and lookup targets share one 160-bit space.

use core::fmt;

/// Length of an [`Id`] in bytes.
pub const ID_LEN: usize = 20;

/// A 160-bit identifier: a node id, an info-hash or a lookup target.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Id([u8; ID_LEN]);

impl Id {
    /// The id whose bytes are `bytes`.
    pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
        Id(bytes)
    }

    /// The id in `bytes`, or `None` unless `bytes` is exactly 20 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; ID_LEN]>::try_from(bytes).ok().map(Id)
    }

    /// The 20 bytes of the id.
    pub const fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
