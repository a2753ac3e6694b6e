//! Webhook signatures: `X-Vaarta-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, keyed
//! with the site's `webhook_secret`. Receivers recompute it over the bytes they received.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-vaarta-signature";

/// `sha256=<hex>` for `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a received signature in constant time.
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies() {
        let s = sign("0123456789abcdef", b"{\"a\":1}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert!(verify("0123456789abcdef", b"{\"a\":1}", &s));
        assert!(!verify("0123456789abcdef", b"{\"a\":2}", &s));
        assert!(!verify("another-secret-xx", b"{\"a\":1}", &s));
        assert!(!verify("0123456789abcdef", b"{\"a\":1}", "md5=00"));
    }

    #[test]
    fn matches_a_known_vector() {
        // RFC 4231 test case 2.
        let s = sign("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            s,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
