//! The BEP 5 parts of the BitTorrent peer wire protocol: the DHT bit of the handshake's
//! reserved field, and the PORT message that tells a peer our DHT port.
//!
//! ```
//! use btdht::wire::{PORT_MESSAGE_LEN, PortMessage, Reserved};
//!
//! let reserved = Reserved::default().with_dht();
//! assert_eq!(reserved.bytes(), [0, 0, 0, 0, 0, 0, 0, 1]);
//! assert!(reserved.supports_dht());
//!
//! let mut buf = [0u8; PORT_MESSAGE_LEN];
//! PortMessage { port: 6881 }.encode(&mut buf);
//! assert_eq!(buf, [0, 0, 0, 3, 9, 0x1a, 0xe1]);
//! assert_eq!(PortMessage::decode(&buf), Ok(PortMessage { port: 6881 }));
//! ```

use core::fmt;

/// The 8 reserved bytes of the BitTorrent handshake (handshake offsets 20..28).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Reserved(pub [u8; 8]);

/// Byte of the reserved field holding the DHT bit.
pub const DHT_BYTE: usize = 7;
/// Mask of the DHT bit in [`DHT_BYTE`].
pub const DHT_MASK: u8 = 0x01;

impl Reserved {
    /// The bytes.
    pub const fn bytes(&self) -> [u8; 8] {
        self.0
    }

    /// Whether the peer supports the DHT (BEP 5: `reserved[7] & 0x01`).
    pub const fn supports_dht(&self) -> bool {
        self.0[DHT_BYTE] & DHT_MASK != 0
    }

    /// The same field with the DHT bit set (other bits kept).
    #[must_use]
    pub const fn with_dht(mut self) -> Self {
        self.0[DHT_BYTE] |= DHT_MASK;
        self
    }
}

/// Length of a framed PORT message: 4-byte length prefix, id, 2-byte port.
pub const PORT_MESSAGE_LEN: usize = 7;
/// The PORT message id.
pub const PORT_MESSAGE_ID: u8 = 9;

/// A PORT message (BEP 5): the sender's DHT node listens on this UDP port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortMessage {
    /// The UDP port.
    pub port: u16,
}

/// Why bytes are not a PORT message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortMessageError {
    /// Fewer or more than [`PORT_MESSAGE_LEN`] bytes.
    Length,
    /// The length prefix is not 3.
    LengthPrefix,
    /// The message id is not 9.
    WrongId,
}

impl fmt::Display for PortMessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortMessageError::Length => "a PORT message is 7 bytes",
            PortMessageError::LengthPrefix => "PORT message length prefix is not 3",
            PortMessageError::WrongId => "message id is not 9 (PORT)",
        })
    }
}

impl core::error::Error for PortMessageError {}

impl PortMessage {
    /// Writes the framed message (`00 00 00 03 09 PP PP`).
    pub fn encode(&self, out: &mut [u8; PORT_MESSAGE_LEN]) {
        let [hi, lo] = self.port.to_be_bytes();
        *out = [0, 0, 0, 3, PORT_MESSAGE_ID, hi, lo];
    }

    /// Reads a whole framed message: exactly 7 bytes, length prefix 3, id 9.
    pub fn decode(bytes: &[u8]) -> Result<Self, PortMessageError> {
        let [a, b, c, d, id, hi, lo]: [u8; PORT_MESSAGE_LEN] =
            bytes.try_into().map_err(|_| PortMessageError::Length)?;
        if [a, b, c, d] != [0, 0, 0, 3] {
            return Err(PortMessageError::LengthPrefix);
        }
        if id != PORT_MESSAGE_ID {
            return Err(PortMessageError::WrongId);
        }
        Ok(PortMessage {
            port: u16::from_be_bytes([hi, lo]),
        })
    }
}
