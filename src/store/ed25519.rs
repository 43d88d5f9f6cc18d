//! The `ed25519` feature: [`SignatureVerifier`] and [`SignatureSigner`] implemented with
//! `ed25519-dalek` (3.x, `default-features = false`: no `std`, no `alloc`, no
//! randomness needed, so it builds wherever the crate does).

use super::items::{SignatureSigner, SignatureVerifier};
use crate::krpc::{PUBLIC_KEY_LEN, SIGNATURE_LEN};
use core::fmt;
use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign};
use ed25519_dalek::{Sha512, Signature, VerifyingKey};

/// Checks BEP 44 signatures with `ed25519-dalek`'s strict verification (RFC 8032 with
/// canonical `S` and no small-order key or `R`: an honest signer never produces those).
///
/// ```
/// use btdht::store::{Ed25519Verifier, SignatureVerifier};
///
/// let key = [0x77, 0xff, 0x84, 0x90, 0x5a, 0x91, 0x93, 0x63, 0x67, 0xc0, 0x13, 0x60, 0x80,
///     0x31, 0x04, 0xf9, 0x24, 0x32, 0xfc, 0xd9, 0x04, 0xa4, 0x35, 0x11, 0x87, 0x6d, 0xf5,
///     0xcd, 0xf3, 0xe7, 0xe5, 0x48];
/// // Any other signature than the key owner's is refused.
/// assert!(!Ed25519Verifier.verify(&key, b"3:seqi1e1:v12:Hello World!", &[0; 64]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ed25519Verifier;

impl SignatureVerifier for Ed25519Verifier {
    fn verify(
        &self,
        key: &[u8; PUBLIC_KEY_LEN],
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(key) else {
            return false;
        };
        key.verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

/// An ed25519 key that signs BEP 44 mutable items.
///
/// Two key formats exist: the 32-byte secret key of RFC 8032 ([`Ed25519Signer::from_secret_key`],
/// what most libraries store) and the 64-byte *expanded* key (clamped scalar, then nonce
/// prefix) that libtorrent and BEP 44's test vectors use ([`Ed25519Signer::from_expanded`]).
///
/// The key is not wiped from memory on drop unless `ed25519-dalek`'s `zeroize` feature is
/// enabled by the application.
///
/// ```
/// use btdht::store::{Ed25519Signer, Ed25519Verifier, SignatureSigner, SignatureVerifier};
///
/// let signer = Ed25519Signer::from_secret_key(&[42; 32]);
/// let sig = signer.sign(b"3:seqi1e1:v1:x");
/// assert!(Ed25519Verifier.verify(&signer.public_key(), b"3:seqi1e1:v1:x", &sig));
/// ```
pub struct Ed25519Signer {
    secret: ExpandedSecretKey,
    public: VerifyingKey,
}

impl Ed25519Signer {
    /// The signer for an RFC 8032 32-byte secret key (a seed, expanded with SHA-512).
    pub fn from_secret_key(secret: &[u8; 32]) -> Self {
        Self::from_secret(ExpandedSecretKey::from(secret))
    }

    /// The signer for a 64-byte expanded secret key: the scalar (clamped here if it is
    /// not) followed by the 32-byte nonce prefix. This is libtorrent's key format and
    /// the one of BEP 44's test vectors.
    pub fn from_expanded(expanded: &[u8; 64]) -> Self {
        Self::from_secret(ExpandedSecretKey::from_bytes(expanded))
    }

    fn from_secret(secret: ExpandedSecretKey) -> Self {
        let public = VerifyingKey::from(&secret);
        Ed25519Signer { secret, public }
    }
}

impl SignatureSigner for Ed25519Signer {
    fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.public.to_bytes()
    }

    fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        raw_sign::<Sha512>(&self.secret, message, &self.public).to_bytes()
    }
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The public half only.
        f.debug_struct("Ed25519Signer")
            .field("public_key", &self.public)
            .finish_non_exhaustive()
    }
}
