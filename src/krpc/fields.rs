//! The wire-level pieces the two decoders and the encoder share: the envelope of top-level
//! fields, the `y` table and a query's arguments in wire key order.
//!
//! The strict decoder (`decode`), the fast path (`fast`) and the encoder (`encode`) each
//! take these from here and never from one another; [`Message::decode`] (in `mod.rs`) is
//! the one place that puts the two decoders together.

use super::{Body, Message, MessageKind, PUBLIC_KEY_LEN, SIGNATURE_LEN};
use crate::addr::Families;
use crate::bencode::RawValue;
use crate::id::Id;
use core::net::SocketAddr;

/// The message kind a `y` value names, or `None` if it names none.
pub(super) fn kind_of(y: &[u8]) -> Option<MessageKind> {
    match y {
        b"q" => Some(MessageKind::Query),
        b"r" => Some(MessageKind::Response),
        b"e" => Some(MessageKind::Error),
        _ => None,
    }
}

/// The top-level fields other than the body.
pub(super) struct Envelope<'a> {
    pub(super) transaction_id: &'a [u8],
    pub(super) version: Option<&'a [u8]>,
    pub(super) ip: Option<SocketAddr>,
    pub(super) read_only: bool,
}

impl<'a> Envelope<'a> {
    #[inline(always)]
    pub(super) fn with_body(&self, body: Body<'a>) -> Message<'a> {
        Message {
            transaction_id: self.transaction_id,
            version: self.version,
            ip: self.ip,
            read_only: self.read_only,
            body,
        }
    }
}

/// The arguments of a query (`a`), every one optional, in wire key order. Decoding fills
/// it before `q` is known (keys sort `a` before `q`); encoding writes it in this order.
#[derive(Clone, Copy, Default)]
pub(super) struct Args<'a> {
    pub(super) cas: Option<i64>,
    pub(super) id: Option<Id>,
    pub(super) implied_port: Option<bool>,
    pub(super) info_hash: Option<Id>,
    pub(super) key: Option<&'a [u8; PUBLIC_KEY_LEN]>,
    pub(super) noseed: Option<bool>,
    pub(super) port: Option<u16>,
    pub(super) salt: Option<&'a [u8]>,
    pub(super) scrape: Option<bool>,
    pub(super) seed: Option<bool>,
    pub(super) seq: Option<i64>,
    pub(super) signature: Option<&'a [u8; SIGNATURE_LEN]>,
    pub(super) target: Option<Id>,
    pub(super) token: Option<&'a [u8]>,
    pub(super) value: Option<RawValue<'a>>,
    pub(super) want: Option<Families>,
}
