//! Who is on the other end of a request: the client's address, for throttling and the sign-in
//! record, and whether it reached the server over https, for cookies. `X-Forwarded-For` and
//! `X-Forwarded-Proto` are believed only when the TCP peer is one of the configured reverse
//! proxies (`server.trusted_proxies`); from anyone else they are ignored, since any client can
//! send them.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::AppState;

/// Reverse proxies whose forwarding headers are believed: addresses or networks.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<(IpAddr, u8)>,
}

impl TrustedProxies {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let networks =
            entries
                .iter()
                .map(|entry| {
                    let (addr, prefix) = match entry.split_once('/') {
                        Some((addr, prefix)) => (addr, Some(prefix)),
                        None => (entry.as_str(), None),
                    };
                    let addr: IpAddr = addr.trim().parse().map_err(|_| {
                        format!("server.trusted_proxies: {entry:?} is not an address or network")
                    })?;
                    let max = if addr.is_ipv4() { 32 } else { 128 };
                    let prefix = match prefix {
                        Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                            format!("server.trusted_proxies: bad prefix length in {entry:?}")
                        })?,
                        None => max,
                    };
                    Ok((addr, prefix))
                })
                .collect::<Result<Vec<_>, String>>()?;
        Ok(Self { networks })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks
            .iter()
            .any(|(net, prefix)| in_network(ip, canonical(*net), *prefix))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) compare as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

/// The client of a request as far as the server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// None when the server does not know its peer (requests made in-process).
    pub ip: Option<IpAddr>,
    /// Whether the request came from a trusted proxy (so its forwarding headers count).
    pub via_trusted_proxy: bool,
    /// Whether the client uses https: `server.public_url` says so, or a trusted proxy does
    /// (`X-Forwarded-Proto: https`).
    pub https: bool,
}

impl Client {
    /// The client behind `peer`: the peer itself, or, when the peer is a trusted proxy, the
    /// right-most `X-Forwarded-For` entry that is not a trusted proxy (entries further left
    /// were written by the client and prove nothing).
    pub fn resolve(
        peer: Option<IpAddr>,
        headers: &HeaderMap,
        proxies: &TrustedProxies,
        public_https: bool,
    ) -> Self {
        let Some(peer) = peer else {
            return Self {
                ip: None,
                via_trusted_proxy: false,
                https: public_https,
            };
        };
        if !proxies.contains(peer) {
            return Self {
                ip: Some(canonical(peer)),
                via_trusted_proxy: false,
                https: public_https,
            };
        }
        let forwarded_https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .collect();
        let client = forwarded
            .iter()
            .rev()
            .find(|ip| !proxies.contains(**ip))
            .or(forwarded.first())
            .copied()
            .unwrap_or(canonical(peer));
        Self {
            ip: Some(client),
            via_trusted_proxy: true,
            https: public_https || forwarded_https,
        }
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        let public_https = state.engine.config().server.public_https();
        Ok(Self::resolve(
            peer,
            &parts.headers,
            &state.console.proxies,
            public_https,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies =
            TrustedProxies::parse(&["10.0.0.0/8".into(), "fd00::1".into(), "192.0.2.1".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A direct client's forged header is ignored.
        let mut forged = headers("1.2.3.4");
        forged.insert("x-forwarded-proto", "https".parse().unwrap());
        let direct = Client::resolve(Some(ip("203.0.113.5")), &forged, &proxies, false);
        assert_eq!(direct.ip, Some(ip("203.0.113.5")));
        assert!(!direct.via_trusted_proxy && !direct.https);
        // Behind proxies, the right-most untrusted entry is the client.
        let proxied = Client::resolve(
            Some(ip("10.1.2.3")),
            &headers("6.6.6.6, 198.51.100.7, 10.9.9.9"),
            &proxies,
            false,
        );
        assert_eq!(proxied.ip, Some(ip("198.51.100.7")));
        assert!(proxied.via_trusted_proxy && !proxied.https);
        let proxied_https = Client::resolve(Some(ip("10.1.2.3")), &forged, &proxies, false);
        assert!(proxied_https.https);
        assert!(Client::resolve(None, &HeaderMap::new(), &proxies, true).https);
        // Mapped addresses are their IPv4 selves; no header means the proxy itself.
        let mapped = Client::resolve(Some(ip("::ffff:192.0.2.1")), &HeaderMap::new(), &proxies, false);
        assert_eq!(mapped.ip, Some(ip("192.0.2.1")));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
        assert_eq!(
            Client::resolve(None, &headers("1.2.3.4"), &proxies, false).ip,
            None
        );
    }
}
