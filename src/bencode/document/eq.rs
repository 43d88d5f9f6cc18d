//! How documents compare (structurally, and with an owned [`Value`]) and print.

use super::{DictRef, Document, ListRef, Node, ValueRef};
use crate::bencode::value::Value;
use core::fmt;

// Equality is structural: two values are equal when they decode to the same tree,
// wherever their slots are.

impl PartialEq for ValueRef<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        match (self.node, other.node) {
            (Node::Int(a), Node::Int(b)) => a == b,
            (Node::Bytes(a), Node::Bytes(b)) => self.arena.bytes(*a) == other.arena.bytes(*b),
            (Node::List(_), Node::List(_)) => self.as_list() == other.as_list(),
            (Node::Dict(_), Node::Dict(_)) => self.as_dict() == other.as_dict(),
            _ => false,
        }
    }
}

impl Eq for ValueRef<'_, '_> {}

impl PartialEq for ListRef<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ListRef<'_, '_> {}

impl PartialEq for DictRef<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for DictRef<'_, '_> {}

impl PartialEq for Document<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.root() == other.root()
    }
}

impl Eq for Document<'_> {}

impl<'a> PartialEq<Value<'a>> for ValueRef<'_, 'a> {
    fn eq(&self, other: &Value<'a>) -> bool {
        match (self.node, other) {
            (Node::Int(a), Value::Int(b)) => a == b,
            (Node::Bytes(a), Value::Bytes(b)) => self.arena.bytes(*a) == *b,
            (Node::List(_), Value::List(items)) => self.as_list().is_some_and(|l| {
                l.len() == items.len() && l.iter().zip(items).all(|(a, b)| a == *b)
            }),
            (Node::Dict(_), Value::Dict(d)) => self.as_dict().is_some_and(|mine| {
                mine.len() == d.len()
                    && mine
                        .iter()
                        .zip(d.iter())
                        .all(|((ka, va), (kb, vb))| ka == kb && va == *vb)
            }),
            _ => false,
        }
    }
}

impl<'a> PartialEq<Value<'a>> for Document<'a> {
    fn eq(&self, other: &Value<'a>) -> bool {
        self.root() == *other
    }
}

impl<'a> PartialEq<Document<'a>> for Value<'a> {
    fn eq(&self, other: &Document<'a>) -> bool {
        other.root() == *self
    }
}

impl fmt::Debug for ValueRef<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node {
            Node::Int(n) => f.debug_tuple("Int").field(n).finish(),
            Node::Bytes(b) => f.debug_tuple("Bytes").field(&self.arena.bytes(*b)).finish(),
            Node::List(_) => match self.as_list() {
                Some(l) => fmt::Debug::fmt(&l, f),
                None => Ok(()),
            },
            Node::Dict(_) => match self.as_dict() {
                Some(d) => fmt::Debug::fmt(&d, f),
                None => Ok(()),
            },
        }
    }
}

impl fmt::Debug for ListRef<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for DictRef<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.root(), f)
    }
}
