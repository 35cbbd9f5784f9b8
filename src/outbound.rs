//! The one HTTP client for server-side requests to URLs that users (or workspace admins) can
//! influence: chat model providers and rerank providers. Dify puts an SSRF proxy in front of such
//! requests; ragd checks the destination itself:
//!
//! - only `http`/`https` URLs; an IP-literal host is checked before anything is sent (the `url`
//!   crate has already turned decimal, octal and hex IPv4 forms into the address they mean);
//! - a host name is resolved by [`CheckedResolver`], which refuses the name unless every address
//!   it resolves to is public, and hands the connector exactly the addresses it checked, so a
//!   second lookup cannot rebind the name to an internal address;
//! - internal addresses (loopback, private, link-local, CGNAT, multicast, ULA, unspecified,
//!   broadcast, documentation and benchmark ranges, also inside v4-mapped/-compatible and NAT64
//!   IPv6) are refused unless `security.outbound_allow` names the host or a range holding them;
//! - redirects are not followed (a 3xx is an answer like any other) and environment proxies are
//!   ignored, so the checked address is the one connected to;
//! - bodies are read up to a limit ([`read_limited`]); callers log upstream bodies and answer
//!   their own callers with a generic message.
//!
//! The model fetcher (`models::fetch`) is not routed here: it downloads pinned wheels from the
//! operator's configured index, which no API caller can change.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, RequestBuilder, Response, Url};

/// Time to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// One entry of `security.outbound_allow`: a host name, an IP address or a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowEntry {
    /// A host name (lower case, no trailing dot): every address it resolves to is allowed.
    Host(String),
    /// An address range; a single address is a /32 or /128.
    Net(IpAddr, u8),
}

impl std::str::FromStr for AllowEntry {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let invalid = || format!("{text:?} is not a host name, IP address or CIDR range");
        if text.is_empty() {
            return Err(invalid());
        }
        if let Some((address, prefix)) = text.split_once('/') {
            let address: IpAddr = address.trim().parse().map_err(|_| invalid())?;
            let prefix: u8 = prefix.trim().parse().map_err(|_| invalid())?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            if prefix > max {
                return Err(invalid());
            }
            return Ok(net(address, prefix));
        }
        let bare = text.trim_start_matches('[').trim_end_matches(']');
        if let Ok(address) = bare.parse::<IpAddr>() {
            let prefix = if address.is_ipv4() { 32 } else { 128 };
            return Ok(net(address, prefix));
        }
        // A host name as the URL parser would normalise it (so `LocalHost.` matches `localhost`).
        let host = text.trim_end_matches('.').to_ascii_lowercase();
        let valid = host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
        if !valid {
            return Err(invalid());
        }
        Ok(AllowEntry::Host(host))
    }
}

/// A range; one of v4-mapped IPv6 addresses is the IPv4 range it maps.
fn net(address: IpAddr, prefix: u8) -> AllowEntry {
    match address {
        IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => AllowEntry::Net(IpAddr::V4(v4), prefix - 96),
            None => AllowEntry::Net(address, prefix),
        },
        IpAddr::V6(_) | IpAddr::V4(_) => AllowEntry::Net(address, prefix),
    }
}

impl<'de> serde::Deserialize<'de> for AllowEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl AllowEntry {
    fn contains(&self, ip: IpAddr) -> bool {
        let AllowEntry::Net(net, prefix) = self else {
            return false;
        };
        match (*net, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is (the kernel connects to that).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Which destinations outbound requests may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allow: Vec<AllowEntry>,
}

/// Why a destination was refused or could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("{0}")]
    InvalidUrl(String),
    /// The host is (or resolves to) an internal address that the allow-list does not name.
    #[error(
        "{host} resolves to {address}, an internal address this server does not connect to \
         (the operator can allow it in security.outbound_allow)"
    )]
    Refused { host: String, address: IpAddr },
    #[error("cannot resolve {host}: {detail}")]
    Unresolved { host: String, detail: String },
}

impl AddressPolicy {
    pub fn new(allow: &[AllowEntry]) -> Self {
        Self {
            allow: allow.to_vec(),
        }
    }

    fn allows_name(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allow
            .iter()
            .any(|entry| matches!(entry, AllowEntry::Host(name) if *name == host))
    }

    /// Whether a connection to `ip` is allowed: a public address, or one the allow-list names.
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || self.allow.iter().any(|entry| entry.contains(ip))
    }

    /// Checks what `host` resolved to: every address must be allowed (an allow-listed name
    /// allows whatever it resolves to).
    pub fn check_resolved(&self, host: &str, addresses: &[IpAddr]) -> Result<(), OutboundError> {
        if addresses.is_empty() {
            return Err(OutboundError::Unresolved {
                host: host.to_string(),
                detail: "no addresses".into(),
            });
        }
        if self.allows_name(host) {
            return Ok(());
        }
        match addresses.iter().find(|ip| !self.allows_address(**ip)) {
            Some(refused) => Err(OutboundError::Refused {
                host: host.to_string(),
                address: *refused,
            }),
            None => Ok(()),
        }
    }

    /// Parses `url` and checks what can be checked without resolving: the scheme, and an IP
    /// literal host (host names are checked when they are resolved).
    pub fn check_url(&self, url: &str) -> Result<Url, OutboundError> {
        let parsed = Url::parse(url.trim())
            .map_err(|e| OutboundError::InvalidUrl(format!("{url:?} is not a valid URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(OutboundError::InvalidUrl(format!(
                "{url:?} is not an http:// or https:// URL"
            )));
        }
        let address = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(_)) => return Ok(parsed),
            None => return Err(OutboundError::InvalidUrl(format!("{url:?} has no host"))),
        };
        if self.allows_address(address) {
            Ok(parsed)
        } else {
            Err(OutboundError::Refused {
                host: parsed.host_str().unwrap_or_default().to_string(),
                address,
            })
        }
    }

    /// [`check_url`](Self::check_url), then resolves a host name and checks its addresses: the
    /// early check when a URL is saved. A name that does not resolve now passes (it is checked
    /// again on every connection).
    pub async fn check_destination(&self, url: &str) -> Result<Url, OutboundError> {
        let parsed = self.check_url(url)?;
        if let Some(url::Host::Domain(host)) = parsed.host()
            && let Ok(addresses) = resolve(host).await
        {
            self.check_resolved(host, &addresses)?;
        }
        Ok(parsed)
    }
}

async fn resolve(host: &str) -> Result<Vec<IpAddr>, OutboundError> {
    let unresolved = |detail: String| OutboundError::Unresolved {
        host: host.to_string(),
        detail,
    };
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, 0)))
        .await
        .map_err(|_| unresolved(format!("no answer within {}s", RESOLVE_TIMEOUT.as_secs())))?
        .map_err(|e| unresolved(e.to_string()))?;
    Ok(found.map(|address| address.ip()).collect())
}

/// Whether `ip` is not a public unicast address: loopback, private, link-local, CGNAT,
/// multicast, ULA, unspecified, broadcast, reserved, documentation or benchmark ranges, also
/// when carried inside an IPv6 address (v4-mapped, v4-compatible, NAT64, 6to4).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    const RANGES: [([u8; 4], u32); 15] = [
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // CGNAT
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast
    ];
    RANGES.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    let bits = u128::from(ip);
    let segments = ip.segments();
    let embedded_v4 = |bits: u128| Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    // ::/96 holds the unspecified and loopback addresses and the deprecated v4-compatible ones.
    if bits >> 32 == 0 {
        return true;
    }
    // NAT64 (64:ff9b::/96) reaches the IPv4 address it carries.
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return is_internal_v4(embedded_v4(bits));
    }
    // 6to4 (2002::/16) carries an IPv4 address in bits 16..48.
    if segments[0] == 0x2002 {
        return is_internal_v4(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    let in_v6 = |net: u128, prefix: u32| bits >> (128 - prefix) == net >> (128 - prefix);
    in_v6(0x0100_0000_0000_0000_0000_0000_0000_0000, 64) // discard-only
        || in_v6(0x2001_0db8_0000_0000_0000_0000_0000_0000, 32) // documentation
        || in_v6(0x2001_0000_0000_0000_0000_0000_0000_0000, 23) // IETF assignments, Teredo
        || in_v6(0xfc00_0000_0000_0000_0000_0000_0000_0000, 7) // unique local
        || in_v6(0xfe80_0000_0000_0000_0000_0000_0000_0000, 10) // link-local
        || in_v6(0xfec0_0000_0000_0000_0000_0000_0000_0000, 10) // site-local (deprecated)
        || in_v6(0xff00_0000_0000_0000_0000_0000_0000_0000, 8) // multicast
}

/// Resolves host names for the client and refuses those that reach internal addresses; the
/// connector gets only the addresses checked here.
struct CheckedResolver {
    policy: Arc<AddressPolicy>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = resolve(&host).await?;
            policy.check_resolved(&host, &addresses)?;
            let checked: Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(checked)
        })
    }
}

/// The outbound client: cheap to clone, one connection pool per server.
#[derive(Clone)]
pub struct Outbound {
    policy: Arc<AddressPolicy>,
    client: reqwest::Client,
}

impl fmt::Debug for Outbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbound").field("policy", &self.policy).finish()
    }
}

impl PartialEq for Outbound {
    fn eq(&self, other: &Self) -> bool {
        self.policy == other.policy
    }
}

impl Outbound {
    pub fn new(allow: &[AllowEntry]) -> Self {
        let policy = Arc::new(AddressPolicy::new(allow));
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
            }))
            .build()
            .expect("the HTTP client builds with static settings");
        Self { policy, client }
    }

    pub fn policy(&self) -> &AddressPolicy {
        &self.policy
    }

    /// A request to `url`, once its scheme and any IP-literal host passed the policy.
    pub fn request(&self, method: Method, url: &str) -> Result<RequestBuilder, OutboundError> {
        let url = self.policy.check_url(url)?;
        Ok(self.client.request(method, url))
    }

    pub fn post(&self, url: &str) -> Result<RequestBuilder, OutboundError> {
        self.request(Method::POST, url)
    }
}

/// An error with its causes, for the log: reqwest's own message says only "error sending
/// request".
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The policy's refusal somewhere in an error's causes (the resolver's error reaches the caller
/// wrapped in reqwest's and hyper's).
pub fn refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a OutboundError> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(refused) = error.downcast_ref::<OutboundError>() {
            return Some(refused);
        }
        current = error.source();
    }
    None
}

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the answer was cut off: {0}")]
    Transport(#[from] reqwest::Error),
}

/// Reads a response body of at most `limit` bytes.
pub async fn read_limited(response: Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(ReadError::TooLarge(limit));
    }
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> AddressPolicy {
        let entries: Vec<AllowEntry> = allow.iter().map(|e| e.parse().unwrap()).collect();
        AddressPolicy::new(&entries)
    }

    fn refused(policy: &AddressPolicy, url: &str) -> bool {
        matches!(policy.check_url(url), Err(OutboundError::Refused { .. }))
    }

    #[test]
    fn internal_literal_addresses_are_refused_in_every_spelling() {
        let strict = policy(&[]);
        for url in [
            "http://127.0.0.1/",
            "http://127.1.2.3:8080/v1",
            "http://[::1]/",
            "http://10.0.0.1/",
            "http://10.255.255.255/",
            "http://172.16.0.1/",
            "http://172.31.255.254/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://192.0.2.1/",
            "http://198.18.0.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[::]/",
            "http://[fc00::1]/",
            "http://[fd12:3456::1]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[2001:db8::1]/",
            // Decimal, octal, hex and short IPv4 forms of 127.0.0.1 (WHATWG URL parsing).
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "https://017700000001:443/",
        ] {
            assert!(refused(&strict, url), "{url} must be refused");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://8.8.8.8/",
            "http://172.32.0.1/",
            "http://100.128.0.1/",
            "http://[2606:4700::1111]/",
            "http://[::ffff:8.8.8.8]/",
        ] {
            assert!(strict.check_url(url).is_ok(), "{url} must pass");
        }
        for url in ["ftp://8.8.8.8/", "file:///etc/passwd", "not a url", "http://"] {
            assert!(
                matches!(strict.check_url(url), Err(OutboundError::InvalidUrl(_))),
                "{url} is not a URL the server fetches"
            );
        }
    }

    #[test]
    fn the_allow_list_names_hosts_addresses_and_ranges() {
        let allowed = policy(&["127.0.0.1", "10.0.0.0/8", "[fd00::1]", "Models.Internal."]);
        assert!(allowed.check_url("http://127.0.0.1:8000/v1").is_ok());
        assert!(
            allowed.check_url("http://[::ffff:127.0.0.1]/").is_ok(),
            "the same address"
        );
        assert!(allowed.check_url("http://10.1.2.3/").is_ok());
        assert!(allowed.check_url("http://[fd00::1]/").is_ok());
        assert!(refused(&allowed, "http://127.0.0.2/"));
        assert!(refused(&allowed, "http://169.254.169.254/"));
        assert!(refused(&allowed, "http://[fd00::2]/"));
        let loopback = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
        assert!(allowed.check_resolved("models.internal", &loopback).is_ok());
        assert!(allowed.check_resolved("MODELS.internal.", &loopback).is_ok());
        assert!(
            allowed
                .check_resolved("other.internal", &[IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1))])
                .is_err()
        );
        for bad in ["", "10.0.0.0/33", "::1/129", "http://x", "a b", "x/y"] {
            assert!(bad.parse::<AllowEntry>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_name_is_refused_when_any_of_its_addresses_is_internal() {
        let strict = policy(&[]);
        let public = IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34));
        let metadata = IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254));
        assert!(strict.check_resolved("example.com", &[public]).is_ok());
        assert_eq!(
            strict.check_resolved("evil.example", &[public, metadata]),
            Err(OutboundError::Refused {
                host: "evil.example".into(),
                address: metadata
            })
        );
        assert!(strict.check_resolved("nothing.example", &[]).is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_save_and_at_connect_time() {
        let strict = Outbound::new(&[]);
        let err = strict
            .policy()
            .check_destination("http://localhost:9/v1")
            .await
            .unwrap_err();
        assert!(matches!(err, OutboundError::Refused { .. }), "{err}");
        // The connect-time check: the resolver refuses, nothing is connected to.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let error = strict
            .post(&format!("http://localhost:{port}/"))
            .unwrap()
            .send()
            .await
            .unwrap_err();
        assert!(refusal(&error).is_some(), "{error:?}");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");
        // Allow-listed, the same name connects.
        let open = Outbound::new(&["localhost".parse().unwrap()]);
        let sent = tokio::spawn(open.post(&format!("http://localhost:{port}/")).unwrap().send());
        let accepted = tokio::time::timeout(Duration::from_secs(5), listener.accept()).await;
        assert!(accepted.is_ok(), "the allow-listed name connects");
        sent.abort();
    }
}
