//! Site API keys: `vk_<prefix>_<secret>`. Only a SHA-256 hash is stored; the prefix (also the
//! public key id shown in listings) finds the row without scanning. The full key is shown once.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// Every Vaarta site key starts with this, so leaked keys are easy to grep for.
pub const KEY_PREFIX: &str = "vk_";

/// Key metadata as stored and listed (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub key_id: Uuid,
    pub site_id: Uuid,
    /// Public part of the key (`vk_<prefix>_...`), to recognise it in listings.
    pub prefix: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A freshly generated key: `secret` is the only copy of the full key.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    pub prefix: String,
    pub secret: String,
    pub hash: String,
}

impl GeneratedKey {
    /// 8 random bytes of prefix + 32 random bytes (256 bits) of secret.
    pub fn new() -> GeneratedKey {
        let mut rng = rand::rng();
        let mut prefix = [0u8; 8];
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut prefix);
        rng.fill_bytes(&mut secret);
        let prefix = hex::encode(prefix);
        let secret = format!("{KEY_PREFIX}{prefix}_{}", hex::encode(secret));
        let hash = hash_key(&secret);
        GeneratedKey {
            prefix,
            secret,
            hash,
        }
    }
}

impl Default for GeneratedKey {
    fn default() -> Self {
        Self::new()
    }
}

/// Hex SHA-256 of the full key. A fast hash is enough: keys carry 256 random bits.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The lookup prefix of a presented key, if it has the right shape.
pub fn parse_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 16
        && secret.len() == 64
        && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '_'))
    .then_some(prefix)
}

/// Compares without an early exit, so timing does not reveal how much of a hash matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_hash() {
        let k = GeneratedKey::new();
        assert_eq!(parse_prefix(&k.secret), Some(k.prefix.as_str()));
        assert_eq!(hash_key(&k.secret), k.hash);
        assert_ne!(GeneratedKey::new().secret, k.secret);
        assert_eq!(parse_prefix("vk_short_abc"), None);
        assert_eq!(parse_prefix("Bearer whatever"), None);
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
