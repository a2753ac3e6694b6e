//! SSRF guard: which hosts and resolved IP addresses a tool request may reach.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::Url;

/// Where tool connectors may connect. Deny by default: only `allowed_hosts`, only public IPs
/// unless an address range is listed in `allowed_ips` (e.g. an on-prem CRM, or loopback in tests).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsrfPolicy {
    /// Host names (exact, case-insensitive) or `*.example.com` wildcards (subdomains only).
    pub allowed_hosts: Vec<String>,
    /// CIDR ranges (or single IPs) allowed even though they are loopback/private/link-local.
    pub allowed_ips: Vec<String>,
    /// Permit plain `http://` (default: https only).
    pub allow_http: bool,
}

/// Why the guard refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error("scheme '{0}' not allowed (https only unless allow_http)")]
    Scheme(String),
    #[error("URL has no host")]
    NoHost,
    #[error("host '{0}' is not in the site's allowed_hosts")]
    HostNotAllowed(String),
    #[error("address {ip} of '{host}' is {class} and not in allowed_ips")]
    AddressDenied {
        host: String,
        ip: IpAddr,
        class: &'static str,
    },
    #[error("invalid allowed_ips entry '{0}'")]
    BadCidr(String),
    #[error("host '{0}' did not resolve to any address")]
    NoAddress(String),
}

impl SsrfPolicy {
    /// Check scheme and host name of a URL (before DNS). IP-literal hosts are also checked
    /// with [`Self::check_ip`].
    pub fn check_url(&self, url: &Url) -> Result<(), SsrfError> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => return Err(SsrfError::Scheme(other.to_string())),
        }
        let host = url.host_str().ok_or(SsrfError::NoHost)?;
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if !self.host_allowed(&bare) {
            return Err(SsrfError::HostNotAllowed(bare));
        }
        if let Ok(ip) = bare.parse::<IpAddr>() {
            self.check_ip(&bare, ip)?;
        }
        Ok(())
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|pattern| {
            let p = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
            match p.strip_prefix("*.") {
                Some(suffix) => host.len() > suffix.len() && host.ends_with(&format!(".{suffix}")),
                None => host == p,
            }
        })
    }

    /// Check one resolved address. Every address a host resolves to must pass.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), SsrfError> {
        let Some(class) = special_class(ip) else {
            return Ok(());
        };
        for entry in &self.allowed_ips {
            if cidr_contains(entry, ip).ok_or_else(|| SsrfError::BadCidr(entry.clone()))? {
                return Ok(());
            }
        }
        Err(SsrfError::AddressDenied {
            host: host.to_string(),
            ip,
            class,
        })
    }

    /// Check a whole resolution result: non-empty and every address allowed.
    pub fn check_resolved(&self, host: &str, ips: &[IpAddr]) -> Result<(), SsrfError> {
        if ips.is_empty() {
            return Err(SsrfError::NoAddress(host.to_string()));
        }
        ips.iter().try_for_each(|ip| self.check_ip(host, *ip))
    }
}

/// The non-public class of an address, or None for a public unicast address.
pub(crate) fn special_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_class(v4);
            }
            let seg0 = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if seg0 & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if seg0 & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if v6 == Ipv6Addr::UNSPECIFIED || seg0 == 0x2001 && v6.segments()[1] == 0x0db8 {
                Some("documentation")
            } else if seg0 == 0x0064 && v6.segments()[1] == 0xff9b {
                Some("NAT64") // could reach private IPv4 space through a translator
            } else {
                None
            }
        }
    }
}

fn v4_class(v4: Ipv4Addr) -> Option<&'static str> {
    let o = v4.octets();
    if v4.is_loopback() {
        Some("loopback")
    } else if v4.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if v4.is_private() {
        Some("private")
    } else if v4.is_link_local() {
        Some("link-local")
    } else if v4.is_multicast() {
        Some("multicast")
    } else if v4.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (CGNAT)")
    } else {
        None
    }
}

/// Does `entry` ("10.0.0.0/8", "127.0.0.1", "::1/128") contain `ip`? None if malformed.
fn cidr_contains(entry: &str, ip: IpAddr) -> Option<bool> {
    let (addr, len) = match entry.trim().split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, Some(l.parse::<u32>().ok()?)),
        None => (entry.trim().parse::<IpAddr>().ok()?, None),
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    Some(match (addr, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let len = len.unwrap_or(32);
            if len > 32 {
                return None;
            }
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let len = len.unwrap_or(128);
            if len > 128 {
                return None;
            }
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SsrfPolicy {
        SsrfPolicy {
            allowed_hosts: vec!["crm.example.com".into(), "*.shop.in".into()],
            ..Default::default()
        }
    }

    #[test]
    fn only_allow_listed_https_hosts() {
        let p = policy();
        assert!(
            p.check_url(&Url::parse("https://crm.example.com/x").unwrap())
                .is_ok()
        );
        assert!(
            p.check_url(&Url::parse("https://api.shop.in/x").unwrap())
                .is_ok()
        );
        assert_eq!(
            p.check_url(&Url::parse("https://shop.in/x").unwrap()),
            Err(SsrfError::HostNotAllowed("shop.in".into()))
        );
        assert_eq!(
            p.check_url(&Url::parse("https://evil.com/?crm.example.com").unwrap()),
            Err(SsrfError::HostNotAllowed("evil.com".into()))
        );
        assert!(matches!(
            p.check_url(&Url::parse("http://crm.example.com/").unwrap()),
            Err(SsrfError::Scheme(_))
        ));
        assert!(matches!(
            p.check_url(&Url::parse("file:///etc/passwd").unwrap()),
            Err(SsrfError::Scheme(_))
        ));
    }

    #[test]
    fn private_and_special_addresses_are_denied() {
        let p = policy();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(
                matches!(p.check_ip("h", ip), Err(SsrfError::AddressDenied { .. })),
                "{ip} must be denied"
            );
        }
        assert!(p.check_ip("h", "93.184.216.34".parse().unwrap()).is_ok());
        assert!(p.check_ip("h", "2606:4700::1111".parse().unwrap()).is_ok());
        assert!(p.check_resolved("h", &[]).is_err());
        // One bad address in a resolution poisons the whole host (DNS rebinding defence).
        assert!(
            p.check_resolved(
                "h",
                &[
                    "93.184.216.34".parse().unwrap(),
                    "10.0.0.1".parse().unwrap()
                ]
            )
            .is_err()
        );
    }

    #[test]
    fn explicit_ranges_allow_private_addresses() {
        let p = SsrfPolicy {
            allowed_hosts: vec!["127.0.0.1".into()],
            allowed_ips: vec!["127.0.0.0/8".into(), "10.5.0.0/16".into()],
            allow_http: true,
        };
        assert!(
            p.check_url(&Url::parse("http://127.0.0.1:8080/x").unwrap())
                .is_ok()
        );
        assert!(p.check_ip("h", "10.5.9.9".parse().unwrap()).is_ok());
        assert!(p.check_ip("h", "10.6.0.1".parse().unwrap()).is_err());
        let bad = SsrfPolicy {
            allowed_ips: vec!["10.0.0.0/99".into()],
            ..Default::default()
        };
        assert_eq!(
            bad.check_ip("h", "10.0.0.1".parse().unwrap()),
            Err(SsrfError::BadCidr("10.0.0.0/99".into()))
        );
    }
}
