//! The client address that failed logins are counted against.
//!
//! It is the TCP peer's address, unless the peer is one of `review.trusted_proxies`: then the
//! `X-Forwarded-For` header is read from the right (the entry the trusted proxy appended) and
//! the first address that is not itself a trusted proxy is the client. Without trusted proxies
//! the header is ignored, since any client can write it. IPv6 clients are counted per /64, the
//! block one subscriber usually holds, so an attacker cannot step through its own addresses.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::http::AppState;

/// Bits of an IPv6 client address that name the client.
const IPV6_CLIENT_PREFIX_BITS: u8 = 64;
/// Most `X-Forwarded-For` entries read (a forged header may be long; the real hops are few).
const FORWARDED_HOPS_MAX: usize = 16;

/// The counted client address: an IPv4 address or an IPv6 /64, as text; `unknown` when the
/// server was started without peer addresses (never in the service, which records them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

/// A `review.trusted_proxies` entry that is neither an IP address nor a CIDR network.
#[derive(Debug, thiserror::Error)]
#[error("review.trusted_proxies: {0:?} is not an IP address or a CIDR network")]
pub struct BadProxy(pub String);

/// The trusted proxies of the setting, parsed once at start.
pub fn trusted_proxies(entries: &[String]) -> Result<Vec<IpNet>, BadProxy> {
    entries
        .iter()
        .map(|entry| {
            let text = entry.trim();
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| BadProxy(entry.clone()))
        })
        .collect()
}

/// An address of a header entry: a bare address, or one with a port (`1.2.3.4:5`, `[::1]:5`).
fn address(entry: &str) -> Option<IpAddr> {
    let text = entry.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn is_trusted(addr: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&addr))
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy, else the rightmost
/// `X-Forwarded-For` address that is not a trusted proxy (an unreadable entry stops the walk:
/// what lies left of it was written by someone we do not trust to write it).
pub fn client_of(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let mut client = canonical(peer);
    if !is_trusted(client, trusted) {
        return client;
    }
    let hops = forwarded_for
        .iter()
        .flat_map(|value| value.split(','))
        .collect::<Vec<_>>();
    for entry in hops.iter().rev().take(FORWARDED_HOPS_MAX) {
        let Some(hop) = address(entry).map(canonical) else {
            break;
        };
        client = hop;
        if !is_trusted(hop, trusted) {
            break;
        }
    }
    client
}

/// The counted key of a client: IPv4 as is, IPv6 as its /64.
pub fn key_of(client: IpAddr) -> String {
    match canonical(client) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => IpNet::new(IpAddr::V6(v6), IPV6_CLIENT_PREFIX_BITS)
            .map_or_else(|_| v6.to_string(), |net| net.trunc().to_string()),
    }
}

fn forwarded_for(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect()
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(Self("unknown".to_owned()));
        };
        let client = client_of(
            peer.ip(),
            &forwarded_for(&parts.headers),
            &state.trusted_proxies,
        );
        Ok(Self(key_of(client)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies() -> Vec<IpNet> {
        trusted_proxies(&["10.0.0.0/8".to_owned(), "192.0.2.1".to_owned()]).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let forged = ["198.51.100.9"];
        assert_eq!(
            client_of(ip("203.0.113.7"), &forged, &[]),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_of(ip("203.0.113.7"), &forged, &proxies()),
            ip("203.0.113.7"),
            "a peer that is not a proxy cannot speak for others"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let peer = ip("10.1.2.3");
        // The client forged the leftmost entry; the proxies appended the rest.
        let header = ["1.1.1.1, 203.0.113.7", "10.9.9.9"];
        assert_eq!(client_of(peer, &header, &proxies()), ip("203.0.113.7"));
        assert_eq!(
            client_of(peer, &["203.0.113.7:4711"], &proxies()),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_of(peer, &["1.1.1.1, garbage, 10.9.9.9"], &proxies()),
            ip("10.9.9.9"),
            "nothing left of an unreadable entry is believed"
        );
        assert_eq!(
            client_of(peer, &[], &proxies()),
            peer,
            "no header: the proxy"
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(key_of(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            key_of(ip("2001:db8:1:2:bbbb::9")),
            key_of(ip("2001:db8:1:2::7"))
        );
        assert_eq!(key_of(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(key_of(ip("203.0.113.7")), "203.0.113.7");
    }

    #[test]
    fn bad_proxy_settings_are_refused() {
        assert!(trusted_proxies(&["10.0.0.0/33".to_owned()]).is_err());
        assert!(trusted_proxies(&["proxy.local".to_owned()]).is_err());
        assert_eq!(trusted_proxies(&["::1".to_owned()]).unwrap().len(), 1);
    }
}
