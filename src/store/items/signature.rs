//! Signature plumbing for mutable items (BEP 44): the caller's ed25519 verifier and signer,
//! and the buffer a signature covers.

use super::rules::{ItemError, MAX_SALT_LEN, MAX_VALUE_LEN};
use crate::bencode::RawValue;
use crate::krpc::{PUBLIC_KEY_LEN, SIGNATURE_LEN, encode_signed_buffer};
use arrayvec::ArrayVec;

/// The longest signed buffer of a storable item: `4:salt64:` + 64 bytes of salt,
/// `3:seqi` + 20 characters of the lowest `i64` + `e`, `1:v` + 1000 bytes of value.
pub const MAX_SIGNED_BUFFER_LEN: usize = 9 + MAX_SALT_LEN + 6 + 20 + 1 + 3 + MAX_VALUE_LEN;

/// Checks ed25519 signatures of mutable items (BEP 44).
///
/// The crate has no ed25519 code of its own: the caller plugs in the implementation it
/// trusts (a `no_std` one on a microcontroller, a hardware one, or a crate such as
/// `ed25519-dalek`). Without a verifier, an [`ItemStore`](crate::store::ItemStore)
/// refuses every mutable item with [`ItemError::NoVerifier`] — it never stores one
/// unchecked.
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
