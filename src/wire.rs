//! The BEP 5 parts of the BitTorrent peer wire protocol (TCP), which a DHT node needs to
//! learn the UDP ports of the peers it is connected to.
//!
//! - **DHT support bit.** A peer that runs a DHT node sets bit `0x01` of byte 7 of the 8
//!   reserved bytes in its handshake (handshake offset 27): [`Reserved`].
//! - **PORT message.** A peer whose handshake had that bit gets a PORT message (id 9)
//!   carrying our DHT's UDP port as a big-endian `u16`; framed, it is always the 7 bytes
//!   `00 00 00 03 09 PP PP` ([`port_message`], [`encode_port`], [`decode_port`]). On
//!   receiving one, ping `(peer IP, port)` and add the node to the routing table if it
//!   answers. The port applies only to the address family of the TCP connection it
//!   arrived on (BEP 32).
//!
//! ```
//! use btdht::wire::{Reserved, decode_port, port_message};
//!
//! let ours = Reserved::default().with_dht();
//! assert_eq!(ours.as_bytes(), &[0, 0, 0, 0, 0, 0, 0, 1]);
//!
//! // After handshakes in which both sides set the bit:
//! let msg = port_message(6881);
//! assert_eq!(msg, [0x00, 0x00, 0x00, 0x03, 0x09, 0x1a, 0xe1]);
//! assert_eq!(decode_port(&msg), Ok(6881));
//! ```

use core::fmt;

/// Index of the byte in the reserved field that holds the DHT bit.
pub const DHT_BYTE: usize = 7;

/// Mask of the DHT bit within [`DHT_BYTE`] of the reserved field.
pub const DHT_MASK: u8 = 0x01;

/// The first 20 bytes of every BitTorrent handshake: the length 19, then the protocol
/// string. The reserved field follows at offset 20.
pub const HANDSHAKE_PREFIX: &[u8; 20] = b"\x13BitTorrent protocol";

/// Offset of the reserved field in a handshake.
pub const RESERVED_OFFSET: usize = 20;

/// The 8 reserved bytes of a BitTorrent handshake (BEP 3), where extensions advertise
/// themselves. Only the DHT bit has accessors here; every other bit is kept as is.
///
/// ```
/// use btdht::wire::Reserved;
///
/// let mut r = Reserved::from_bytes([0, 0, 0, 0, 0, 0x10, 0, 0x04]); // LTEP + Fast
/// assert!(!r.supports_dht());
/// r.set_dht(true);
/// assert!(r.supports_dht());
/// assert_eq!(r.as_bytes(), &[0, 0, 0, 0, 0, 0x10, 0, 0x05]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Reserved([u8; 8]);

impl Reserved {
    /// The reserved field with no bit set.
    ///
    /// ```
    /// use btdht::wire::Reserved;
    /// assert_eq!(Reserved::NONE, Reserved::default());
    /// ```
    pub const NONE: Reserved = Reserved([0; 8]);

    /// The reserved field with only the DHT bit set: `00 00 00 00 00 00 00 01`.
    ///
    /// ```
    /// use btdht::wire::Reserved;
    /// assert!(Reserved::DHT.supports_dht());
    /// ```
    pub const DHT: Reserved = Reserved::NONE.with_dht();

    /// The reserved field whose bytes are `bytes`.
    ///
    /// ```
    /// use btdht::wire::Reserved;
    /// assert!(Reserved::from_bytes([0, 0, 0, 0, 0, 0, 0, 1]).supports_dht());
    /// ```
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 8]) -> Reserved {
        Reserved(bytes)
    }

    /// The reserved field of a handshake: bytes 20..28, or `None` if `handshake` is
    /// shorter than 28 bytes or does not start with [`HANDSHAKE_PREFIX`]. Bytes after the
    /// reserved field (info-hash, peer id) are not looked at.
    ///
    /// ```
    /// use btdht::wire::{HANDSHAKE_PREFIX, Reserved};
    ///
    /// let mut handshake = HANDSHAKE_PREFIX.to_vec();
    /// handshake.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    /// handshake.extend_from_slice(&[0; 40]); // info-hash, peer id
    /// assert_eq!(Reserved::from_handshake(&handshake), Some(Reserved::DHT));
    /// assert_eq!(Reserved::from_handshake(b"\x13BitTorrent"), None);
    /// ```
    #[must_use]
    pub fn from_handshake(handshake: &[u8]) -> Option<Reserved> {
        let (prefix, rest) = handshake.split_first_chunk::<RESERVED_OFFSET>()?;
        if prefix != HANDSHAKE_PREFIX {
            return None;
        }
        rest.first_chunk::<8>().copied().map(Reserved)
    }

    /// The 8 bytes, in handshake order.
    ///
    /// ```
    /// use btdht::wire::Reserved;
    /// assert_eq!(Reserved::DHT.as_bytes(), &[0, 0, 0, 0, 0, 0, 0, 1]);
    /// ```
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// Whether the DHT bit (`reserved[7] & 0x01`) is set: the peer runs a DHT node and
    /// should be sent a PORT message.
    ///
    /// ```
    /// use btdht::wire::Reserved;
    /// assert!(Reserved::DHT.supports_dht());
    /// assert!(!Reserved::from_bytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]).supports_dht());
    /// ```
    #[must_use]
    pub const fn supports_dht(&self) -> bool {
        self.0[DHT_BYTE] & DHT_MASK != 0
    }

    /// The same field with the DHT bit set.
    ///
    /// ```
    /// use btdht::wire::Reserved;
    /// assert_eq!(Reserved::NONE.with_dht(), Reserved::DHT);
    /// ```
    #[must_use]
    pub const fn with_dht(mut self) -> Reserved {
        self.0[DHT_BYTE] |= DHT_MASK;
        self
    }

    /// Sets (`true`) or clears (`false`) the DHT bit, leaving the other bits alone.
    ///
    /// ```
    /// use btdht::wire::Reserved;
    /// let mut r = Reserved::DHT;
    /// r.set_dht(false);
    /// assert_eq!(r, Reserved::NONE);
    /// ```
    pub const fn set_dht(&mut self, enabled: bool) {
        if enabled {
            self.0[DHT_BYTE] |= DHT_MASK;
        } else {
            self.0[DHT_BYTE] &= !DHT_MASK;
        }
    }
}

impl From<[u8; 8]> for Reserved {
    fn from(bytes: [u8; 8]) -> Reserved {
        Reserved(bytes)
    }
}

impl From<Reserved> for [u8; 8] {
    fn from(reserved: Reserved) -> [u8; 8] {
        reserved.0
    }
}

/// The message id of PORT.
pub const PORT_MESSAGE_ID: u8 = 0x09;

/// The length prefix of a PORT message: the id byte plus a 2-byte port.
pub const PORT_PAYLOAD_LEN: u32 = 3;

/// A framed PORT message is always 7 bytes: 4 of length prefix, the id, 2 of port.
pub const PORT_MESSAGE_LEN: usize = 7;

/// The framed PORT message for `port`: `00 00 00 03 09` then the port, big-endian.
///
/// ```
/// use btdht::wire::port_message;
/// assert_eq!(port_message(6881), [0, 0, 0, 3, 9, 0x1a, 0xe1]);
/// ```
#[must_use]
pub const fn port_message(port: u16) -> [u8; PORT_MESSAGE_LEN] {
    let [l0, l1, l2, l3] = PORT_PAYLOAD_LEN.to_be_bytes();
    let [p0, p1] = port.to_be_bytes();
    [l0, l1, l2, l3, PORT_MESSAGE_ID, p0, p1]
}

/// Writes the framed PORT message for `port` ([`port_message`]) at the start of `out`
/// and returns [`PORT_MESSAGE_LEN`], or `None` (writing nothing) if `out` is shorter than
/// that.
///
/// ```
/// use btdht::wire::encode_port;
/// let mut buf = [0u8; 16];
/// let n = encode_port(6881, &mut buf).unwrap();
/// assert_eq!(&buf[..n], &[0, 0, 0, 3, 9, 0x1a, 0xe1]);
/// assert_eq!(encode_port(6881, &mut [0u8; 6]), None);
/// ```
#[must_use = "`None` means nothing was written"]
pub fn encode_port(port: u16, out: &mut [u8]) -> Option<usize> {
    let dst = out.first_chunk_mut::<PORT_MESSAGE_LEN>()?;
    *dst = port_message(port);
    Some(PORT_MESSAGE_LEN)
}

/// Reads the port from one whole framed PORT message: exactly [`PORT_MESSAGE_LEN`]
/// bytes, length prefix included.
///
/// # Errors
///
/// Anything but one PORT message is a [`PortMessageError`], checked in wire order:
/// a length prefix other than 3 ([`PortMessageError::WrongLength`]; a keep-alive has 0),
/// then an id other than 9 ([`PortMessageError::WrongId`]), then missing bytes
/// ([`PortMessageError::TooShort`], also for input shorter than the fields checked so
/// far) or bytes after the port ([`PortMessageError::TrailingBytes`]). A stream parser
/// should cut each message out by its length prefix before calling this.
///
/// Port 0 is returned as is; whether to ping it is the caller's decision.
///
/// ```
/// use btdht::wire::{PortMessageError, decode_port};
///
/// assert_eq!(decode_port(&[0, 0, 0, 3, 9, 0x1a, 0xe1]), Ok(6881));
/// assert_eq!(decode_port(&[0, 0, 0, 3, 9, 0x1a]), Err(PortMessageError::TooShort));
/// assert_eq!(decode_port(&[0, 0, 0, 0]), Err(PortMessageError::WrongLength { len: 0 }));
/// assert_eq!(decode_port(&[0, 0, 0, 3, 8, 0, 1]), Err(PortMessageError::WrongId { id: 8 }));
/// assert_eq!(decode_port(&[0, 0, 0, 3, 9, 0, 1, 0]), Err(PortMessageError::TrailingBytes));
/// ```
pub fn decode_port(msg: &[u8]) -> Result<u16, PortMessageError> {
    let (len, rest) = msg
        .split_first_chunk::<4>()
        .ok_or(PortMessageError::TooShort)?;
    let len = u32::from_be_bytes(*len);
    if len != PORT_PAYLOAD_LEN {
        return Err(PortMessageError::WrongLength { len });
    }
    let (&id, rest) = rest.split_first().ok_or(PortMessageError::TooShort)?;
    if id != PORT_MESSAGE_ID {
        return Err(PortMessageError::WrongId { id });
    }
    let (port, rest) = rest
        .split_first_chunk::<2>()
        .ok_or(PortMessageError::TooShort)?;
    if !rest.is_empty() {
        return Err(PortMessageError::TrailingBytes);
    }
    Ok(u16::from_be_bytes(*port))
}

/// Why bytes are not a framed PORT message ([`decode_port`]).
///
/// ```
/// use btdht::wire::{PortMessageError, decode_port};
/// let err = decode_port(b"").unwrap_err();
/// assert_eq!(err, PortMessageError::TooShort);
/// assert_eq!(err.to_string(), "PORT message: fewer than 7 bytes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PortMessageError {
    /// The input ends before the 7 bytes of a PORT message.
    TooShort,
    /// The length prefix is not 3 (0 is a keep-alive).
    WrongLength {
        /// The length prefix found.
        len: u32,
    },
    /// The message id is not 9.
    WrongId {
        /// The message id found.
        id: u8,
    },
    /// Bytes follow the 7 bytes of the message.
    TrailingBytes,
}

impl fmt::Display for PortMessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortMessageError::TooShort => f.write_str("PORT message: fewer than 7 bytes"),
            PortMessageError::WrongLength { len } => {
                write!(f, "PORT message: length prefix {len}, expected 3")
            }
            PortMessageError::WrongId { id } => {
                write!(f, "PORT message: message id {id}, expected 9")
            }
            PortMessageError::TrailingBytes => f.write_str("PORT message: bytes after the port"),
        }
    }
}

impl core::error::Error for PortMessageError {}
