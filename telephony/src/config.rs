//! Typed configuration for the SIP/RTP side (a section of Vaarta's app config).

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// SIP and RTP settings. Every field has a default, so `[telephony]` may be empty.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TelephonyConfig {
    /// UDP address for SIP signalling.
    pub bind: SocketAddr,
    /// Public IP written into Contact, Via and SDP when behind NAT (1:1 / port-forwarded).
    pub external_ip: Option<IpAddr>,
    /// Inclusive RTP port range; each call takes one even port. Open it in the firewall.
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    /// Concurrent calls on this node; INVITEs beyond it get 503 Service Unavailable.
    pub max_calls: usize,
    /// User part of our Contact and the default caller id.
    pub local_user: String,
    pub user_agent: String,
    /// Source addresses allowed to send INVITEs: IPs or CIDRs ("203.0.113.0/24"). The trunk's
    /// registrar/proxy addresses are added automatically. Empty with no trunk allows everyone
    /// (local testing only). Add all of the operator's signalling IPs here in production.
    pub allowlist: Vec<String>,
    /// Outbound calls ring at most this long before being cancelled (no-answer outcome).
    pub ring_timeout_secs: u64,
    /// Per-source SIP datagram budget (sustained per second, burst) before packets are dropped.
    pub rate_limit_per_sec: u32,
    pub rate_limit_burst: u32,
    /// The SIP trunk (registrar + outbound calls); None for peer-to-peer use.
    pub trunk: Option<TrunkConfig>,
    /// Softphones/PBXs that may call from anywhere after digest authentication (407
    /// challenge) when their source is not on the allowlist.
    pub peers: Vec<PeerAccount>,
}

/// Credentials of a peer allowed to call in with digest authentication.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PeerAccount {
    pub username: String,
    pub password: String,
}

impl Default for TelephonyConfig {
    fn default() -> Self {
        TelephonyConfig {
            bind: "127.0.0.1:5060".parse().expect("literal"),
            external_ip: None,
            rtp_port_min: 20000,
            rtp_port_max: 30000,
            max_calls: 100,
            local_user: "vaarta".into(),
            user_agent: "Vaarta".into(),
            allowlist: Vec::new(),
            ring_timeout_secs: 45,
            rate_limit_per_sec: 500,
            rate_limit_burst: 1000,
            trunk: None,
            peers: Vec::new(),
        }
    }
}

/// A SIP trunk account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    /// SIP domain of the account (`sip:user@domain`), e.g. "sip.provider.in".
    pub domain: String,
    /// Registrar `host[:port]`; defaults to the domain.
    #[serde(default)]
    pub registrar: Option<String>,
    /// Send every out-of-dialog request here (`host[:port]`) instead of the URI's host.
    #[serde(default)]
    pub outbound_proxy: Option<String>,
    pub username: String,
    /// Auth user when it differs from `username`.
    #[serde(default)]
    pub auth_username: Option<String>,
    pub password: String,
    /// Expected realm; informational, the challenge's realm is used.
    #[serde(default)]
    pub realm: Option<String>,
    /// Number presented on outbound calls (From user part); defaults to `username`.
    #[serde(default)]
    pub caller_id: Option<String>,
    /// Register this account (false for IP-authenticated trunks).
    #[serde(default = "yes")]
    pub register: bool,
    /// Requested registration lifetime in seconds.
    #[serde(default = "default_expires")]
    pub expires: u32,
}

fn yes() -> bool {
    true
}
fn default_expires() -> u32 {
    300
}

/// Whether `ip` matches an allowlist entry (exact IP or CIDR).
pub fn allowlisted(list: &[String], ip: IpAddr) -> bool {
    list.is_empty()
        || list.iter().any(|entry| {
            let (net, bits) = match entry.split_once('/') {
                Some((n, b)) => (n, b.parse::<u32>().ok()),
                None => (entry.as_str(), None),
            };
            let Ok(net) = net.trim().parse::<IpAddr>() else {
                return false;
            };
            match (net, ip) {
                (IpAddr::V4(n), IpAddr::V4(i)) => {
                    let b = bits.unwrap_or(32).min(32);
                    let mask = if b == 0 { 0 } else { u32::MAX << (32 - b) };
                    u32::from(n) & mask == u32::from(i) & mask
                }
                (IpAddr::V6(n), IpAddr::V6(i)) => {
                    let b = bits.unwrap_or(128).min(128);
                    let mask = if b == 0 { 0 } else { u128::MAX << (128 - b) };
                    u128::from(n) & mask == u128::from(i) & mask
                }
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_matches_ips_and_cidrs() {
        let l = vec!["203.0.113.0/24".to_string(), "10.1.2.3".to_string()];
        assert!(allowlisted(&l, "203.0.113.77".parse().unwrap()));
        assert!(allowlisted(&l, "10.1.2.3".parse().unwrap()));
        assert!(!allowlisted(&l, "10.1.2.4".parse().unwrap()));
        assert!(allowlisted(&[], "1.1.1.1".parse().unwrap()));
    }
}
