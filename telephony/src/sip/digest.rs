//! HTTP digest authentication for SIP (RFC 3261 §22, RFC 2617/7616) on top of rsip's
//! `DigestGenerator`: answer a 401/407 challenge, and verify a response (test registrar).

use rsip::headers::auth::{Algorithm, AuthQop, Qop};
use rsip::headers::{ToTypedHeader, UntypedHeader};

/// Why a challenge could not be answered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("unparseable authentication challenge: {0}")]
    BadChallenge(String),
    #[error("bad request URI for digest: {0}")]
    BadUri(String),
}

/// A parsed challenge (WWW-Authenticate or Proxy-Authenticate value).
#[derive(Debug, Clone)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    pub qop_auth: bool,
    pub stale: bool,
}

impl Challenge {
    pub fn parse(value: &str) -> Result<Challenge, DigestError> {
        let typed = rsip::headers::WwwAuthenticate::new(value)
            .typed()
            .map_err(|e| DigestError::BadChallenge(e.to_string()))?;
        Ok(Challenge {
            realm: typed.realm,
            nonce: typed.nonce,
            opaque: typed.opaque,
            algorithm: typed.algorithm.unwrap_or(Algorithm::Md5),
            qop_auth: matches!(typed.qop, Some(Qop::Auth) | Some(Qop::AuthInt)),
            stale: typed.stale.is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The Authorization / Proxy-Authorization header value for one request.
    pub fn authorize(
        &self,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        nc: u8,
    ) -> Result<String, DigestError> {
        let ruri = rsip::Uri::try_from(uri).map_err(|e| DigestError::BadUri(e.to_string()))?;
        let method: rsip::Method = method
            .parse()
            .map_err(|_| DigestError::BadUri(method.into()))?;
        let cnonce = crate::sip::msg::random_token(12);
        let qop = self.qop_auth.then(|| AuthQop::Auth {
            cnonce: cnonce.clone(),
            nc,
        });
        let response = rsip::services::DigestGenerator {
            username,
            password,
            nonce: &self.nonce,
            uri: &ruri,
            realm: &self.realm,
            method: &method,
            qop: qop.as_ref(),
            algorithm: self.algorithm,
        }
        .compute();
        let mut v = format!(
            "Digest username=\"{username}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{response}\", algorithm={}",
            self.realm, self.nonce, self.algorithm
        );
        if let Some(o) = &self.opaque {
            v += &format!(", opaque=\"{o}\"");
        }
        if self.qop_auth {
            v += &format!(", qop=auth, nc={nc:08}, cnonce=\"{cnonce}\"");
        }
        Ok(v)
    }
}

/// The username and nonce of an Authorization / Proxy-Authorization value.
pub fn credentials_of(authorization: &str) -> Option<(String, String)> {
    let auth = rsip::headers::Authorization::new(authorization)
        .typed()
        .ok()?;
    Some((auth.username, auth.nonce))
}

/// Server side check of an Authorization header value against a password (used by the
/// test registrar and available for authenticating peers).
pub fn verify(authorization: &str, method: &str, password: &str) -> bool {
    let Ok(auth) = rsip::headers::Authorization::new(authorization).typed() else {
        return false;
    };
    let Ok(method) = method.parse::<rsip::Method>() else {
        return false;
    };
    rsip::services::DigestGenerator::from(&auth, password, &method).verify(&auth.response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_verifies_with_and_without_qop() {
        for chal in [
            "Digest realm=\"trunk\", nonce=\"abc123\", algorithm=MD5",
            "Digest realm=\"trunk\", nonce=\"abc123\", qop=\"auth\", opaque=\"o1\"",
        ] {
            let c = Challenge::parse(chal).unwrap();
            let a = c
                .authorize("REGISTER", "sip:trunk.example", "1001", "s3cret", 1)
                .unwrap();
            assert!(verify(&a, "REGISTER", "s3cret"), "{a}");
            assert!(!verify(&a, "REGISTER", "wrong"));
            assert!(!verify(&a, "INVITE", "s3cret"));
        }
        assert!(Challenge::parse("Basic nothing").is_err());
    }
}
