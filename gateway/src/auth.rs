//! Player identity: JWT verification ([`Verifier`]), the caller's address (trusted proxies),
//! owner tags ([`OwnerKey`]) and [`dev_token`].

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::{AuthConfig, KeyAlgorithm, SecretText};
use crate::error::{ApiError, GatewayError};

/// The prefix of every owner tag; the rest is 16 hex digits (19 characters in all, within the
/// 20-character tag limit of Edgegap's 2024 documentation).
pub const OWNER_TAG_PREFIX: &str = "gw-";

/// Longest accepted `sub`.
const MAX_PLAYER_ID_LEN: usize = 256;

/// The keyed hash that turns a player id into an owner tag.
#[derive(Clone)]
pub(crate) struct OwnerKey([u8; 32]);

impl OwnerKey {
    /// The configured key, else one derived from the organisation token (stable across
    /// restarts, and the token cannot be recovered from it).
    pub(crate) fn new(configured: Option<&SecretText>, org_token: &SecretText) -> Self {
        let (key, context): (&[u8], &[u8]) = match configured {
            Some(key) if !key.is_empty() => (key.bytes(), b"edgegap-gateway owner key"),
            _ => (
                org_token.expose().trim().as_bytes(),
                b"edgegap-gateway owner key derived from the organisation token",
            ),
        };
        Self(hmac(key, context))
    }

    /// `gw-` + the first 8 bytes of HMAC-SHA256(key, player id), in hex.
    pub(crate) fn tag(&self, player: &str) -> String {
        let digest = hmac(&self.0, player.as_bytes());
        let mut tag = String::with_capacity(OWNER_TAG_PREFIX.len() + 16);
        tag.push_str(OWNER_TAG_PREFIX);
        for byte in &digest[..8] {
            tag.push_str(&format!("{byte:02x}"));
        }
        tag
    }

    /// The secret of the shared store ([`RedisStore`](crate::RedisStore)): its key prefix
    /// and the key that authenticates its status records derive from it, so replicas with
    /// the same owner key share state and other environments do not.
    pub(crate) fn redis_secret(&self) -> [u8; 32] {
        hmac(&self.0, b"edgegap-gateway shared store")
    }

    /// The default webhook path secret: 32 hex digits of HMAC-SHA256(key, a fixed label).
    /// The same for every replica and across restarts, and unguessable without the key.
    pub(crate) fn webhook_secret(&self) -> String {
        hex16(&hmac(&self.0, b"edgegap-gateway webhook path"))
    }

    /// The proof the webhook URLs of `owner`'s deployments carry (`?owner=<tag>&proof=<this>`):
    /// 32 hex digits of HMAC-SHA256(key, a fixed label and the owner tag). Only the gateway
    /// and Edgegap see it; a READY webhook carrying it is believed for that owner's live
    /// deployments alone (`service/webhook.rs`), so even a player who learnt their own proof
    /// could only lie to themselves.
    pub(crate) fn webhook_proof(&self, owner: &str) -> String {
        let mut message = b"edgegap-gateway webhook proof\0".to_vec();
        message.extend_from_slice(owner.as_bytes());
        hex16(&hmac(&self.0, &message))
    }

    /// The webhook URL `owner`'s deploys carry: `base` (`<public_url>/webhooks/<secret>`)
    /// with the owner tag and its [proof](OwnerKey::webhook_proof). Owner tags are hex
    /// digits and `-`: nothing to escape.
    pub(crate) fn webhook_url(&self, base: &str, owner: &str) -> String {
        format!("{base}?owner={owner}&proof={}", self.webhook_proof(owner))
    }
}

/// The first 16 bytes of `digest`, in hex.
fn hex16(digest: &[u8; 32]) -> String {
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    iss: Option<String>,
    iat: Option<u64>,
}

/// Verifies player tokens with exactly one algorithm.
pub(crate) struct Verifier {
    key: Option<(DecodingKey, Validation)>,
    anonymous: bool,
    /// More than one accepted issuer: the player id is `iss` and `sub` together.
    per_issuer: bool,
    max_age: Option<u64>,
    leeway: u64,
    /// Tokens are checked for neither `iss` nor `aud`.
    unscoped: bool,
}

impl Verifier {
    pub(crate) fn new(config: &AuthConfig) -> Result<Self, GatewayError> {
        let bad = |message: String| GatewayError::Config(message);
        let pem = match (&config.public_key_pem, &config.public_key_file) {
            (Some(pem), _) => Some(pem.clone()),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .map_err(|e| bad(format!("cannot read auth.public_key_file `{file}`: {e}")))?,
            ),
            (None, None) => None,
        };
        let key = match (&config.hs256_secret, pem, config.public_key_algorithm) {
            (Some(_), Some(_), _) => {
                return Err(bad(
                    "set either an HS256 secret or a public key, not both".into()
                ));
            }
            (Some(secret), None, _) => {
                if secret.is_empty() {
                    return Err(bad("the HS256 secret is empty".into()));
                }
                // Its length and placeholders are checked with the rest of the config.
                Some((DecodingKey::from_secret(secret.bytes()), Algorithm::HS256))
            }
            (None, Some(pem), Some(alg)) => {
                let pem = pem.as_bytes();
                let (key, alg) = match alg {
                    KeyAlgorithm::EdDSA => (DecodingKey::from_ed_pem(pem), Algorithm::EdDSA),
                    KeyAlgorithm::ES256 => (DecodingKey::from_ec_pem(pem), Algorithm::ES256),
                    KeyAlgorithm::RS256 => (DecodingKey::from_rsa_pem(pem), Algorithm::RS256),
                };
                let key = key.map_err(|e| bad(format!("invalid {alg:?} public key: {e}")))?;
                Some((key, alg))
            }
            (None, Some(_), None) => {
                return Err(bad(
                    "a public key needs auth.public_key_algorithm (EdDSA, ES256 or RS256)".into(),
                ));
            }
            (None, None, _) if config.anonymous => None,
            (None, None, _) => {
                return Err(bad(
                    "no player-token key: set an HS256 secret or a public key (or enable anonymous mode for development)"
                        .into(),
                ));
            }
        };
        let key = key.map(|(key, alg)| {
            let mut validation = Validation::new(alg);
            validation.leeway = config.leeway_secs;
            validation.validate_nbf = true;
            let mut required = vec!["exp", "sub"];
            if config.max_token_age_secs.is_some() {
                required.push("iat");
            }
            if !config.issuers.is_empty() {
                validation.set_issuer(&config.issuers);
                required.push("iss");
            }
            if config.audiences.is_empty() {
                validation.validate_aud = false;
            } else {
                validation.set_audience(&config.audiences);
                required.push("aud");
            }
            validation.set_required_spec_claims(&required);
            (key, validation)
        });
        let unscoped = key.is_some() && config.issuers.is_empty() && config.audiences.is_empty();
        Ok(Self {
            key,
            anonymous: config.anonymous,
            per_issuer: config.issuers.len() > 1,
            max_age: config.max_token_age_secs,
            leeway: config.leeway_secs,
            unscoped,
        })
    }

    /// Whether any token signed with the key is a player: neither `iss` nor `aud` is checked
    /// (the gateway warns at start).
    pub(crate) fn unscoped(&self) -> bool {
        self.unscoped
    }

    pub(crate) fn anonymous(&self) -> bool {
        self.anonymous
    }

    /// The player id of an `Authorization` header value, or why it is refused. In anonymous
    /// mode a missing or invalid token falls back to `anon:<caller>`.
    pub(crate) fn player(
        &self,
        authorization: Option<&str>,
        caller: IpAddr,
    ) -> Result<String, ApiError> {
        let verified = self.verify(authorization);
        match verified {
            Err(_) if self.anonymous => Ok(format!("anon:{caller}")),
            other => other,
        }
    }

    fn verify(&self, authorization: Option<&str>) -> Result<String, ApiError> {
        let unauthorized = |m: &str| ApiError::Unauthorized(m.to_owned());
        let value = authorization
            .ok_or_else(|| unauthorized("missing `Authorization: Bearer <player token>` header"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                unauthorized("the Authorization header must be `Bearer <player token>`")
            })?;
        let Some((key, validation)) = &self.key else {
            return Err(unauthorized("player tokens are not configured"));
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            tracing::debug!("player token refused: {e}");
            match e.kind() {
                ErrorKind::ExpiredSignature => unauthorized("the player token has expired"),
                ErrorKind::ImmatureSignature => {
                    unauthorized("the player token is not valid yet (`nbf`)")
                }
                ErrorKind::InvalidIssuer => {
                    unauthorized("the player token's issuer is not accepted")
                }
                ErrorKind::InvalidAudience => {
                    unauthorized("the player token's audience is not accepted")
                }
                ErrorKind::MissingRequiredClaim(claim) => {
                    ApiError::Unauthorized(format!("the player token has no `{claim}` claim"))
                }
                _ => unauthorized("the player token is invalid"),
            }
        })?;
        let Claims { sub, iss, iat } = data.claims;
        if let Some(max_age) = self.max_age {
            let now = now_secs();
            let iat = iat.unwrap_or(u64::MAX);
            if iat > now.saturating_add(self.leeway) {
                return Err(unauthorized(
                    "the player token is issued in the future (`iat`)",
                ));
            }
            if now.saturating_sub(iat) > max_age.saturating_add(self.leeway) {
                return Err(unauthorized("the player token is too old (`iat`)"));
            }
        }
        check_sub(&sub).map_err(unauthorized)?;
        Ok(match (self.per_issuer, iss) {
            // Two auth backends may both have an `alice`: they are two players.
            (true, Some(iss)) => serde_json::json!([iss, sub]).to_string(),
            _ => sub,
        })
    }
}

/// A `sub` the gateway accepts as a player id: 1 to 256 bytes, no control characters (a
/// newline would forge log lines), no leading or trailing whitespace (` alice` is not a
/// second `alice`). Letter case and Unicode normalisation are the auth backend's: `sub` is
/// compared byte for byte, so it must be a stable account id, not a display name.
fn check_sub(sub: &str) -> Result<(), &'static str> {
    if sub.is_empty() || sub.len() > MAX_PLAYER_ID_LEN {
        return Err("the player token's `sub` must be 1 to 256 bytes long");
    }
    if sub.chars().any(char::is_control) {
        return Err("the player token's `sub` contains control characters");
    }
    if sub.starts_with(char::is_whitespace) || sub.ends_with(char::is_whitespace) {
        return Err("the player token's `sub` starts or ends with whitespace");
    }
    Ok(())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// IPs and CIDR blocks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    pub(crate) fn parse(entries: &[String]) -> Result<Self, GatewayError> {
        let mut out = Vec::new();
        for entry in entries {
            let bad = || {
                GatewayError::Config(format!(
                    "trusted proxy `{entry}` is not an IP address or CIDR block"
                ))
            };
            let (ip, bits) = match entry.trim().split_once('/') {
                Some((ip, bits)) => (
                    ip.parse::<IpAddr>().map_err(|_| bad())?,
                    bits.parse::<u8>().map_err(|_| bad())?,
                ),
                None => {
                    let ip = entry.trim().parse::<IpAddr>().map_err(|_| bad())?;
                    (ip, if ip.is_ipv4() { 32 } else { 128 })
                }
            };
            if bits > if ip.is_ipv4() { 32 } else { 128 } {
                return Err(bad());
            }
            out.push((ip, bits));
        }
        Ok(Self(out))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(
            |&(net, bits)| match (net.to_canonical(), ip.to_canonical()) {
                (IpAddr::V4(net), IpAddr::V4(ip)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
                    u32::from(net) & mask == u32::from(ip) & mask
                }
                (IpAddr::V6(net), IpAddr::V6(ip)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
                    u128::from(net) & mask == u128::from(ip) & mask
                }
                _ => false,
            },
        )
    }

    /// The client's address: the socket peer, unless the peer is a trusted proxy, in which
    /// case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
    /// `forwarded_for` is every `X-Forwarded-For` line in order (each proxy may add its own
    /// line rather than append to the last one: they are one list). IPv4-mapped IPv6
    /// addresses (`::ffff:1.2.3.4`) are their IPv4 address.
    pub(crate) fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let mut last_trusted = peer;
        for entry in forwarded_for.rev().flat_map(|line| line.rsplit(',')) {
            match entry.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) {
                Ok(ip) if self.contains(ip) => last_trusted = ip,
                Ok(ip) => return ip,
                Err(_) => return last_trusted,
            }
        }
        last_trusted
    }
}

#[derive(Serialize)]
struct DevClaims<'a> {
    sub: &'a str,
    iat: u64,
    exp: u64,
}

/// Mints an HS256 player token for `player`, valid for `ttl`: for tests, examples and local
/// development. A shipped game gets its tokens from its own auth backend.
///
/// ```
/// let token = edgegap_gateway::dev_token(b"a-long-random-development-secret!", "alice", std::time::Duration::from_secs(600)).unwrap();
/// assert_eq!(token.split('.').count(), 3);
/// ```
pub fn dev_token(secret: &[u8], player: &str, ttl: Duration) -> Result<String, GatewayError> {
    let now = now_secs();
    let claims = DevClaims {
        sub: player,
        iat: now,
        exp: now.saturating_add(ttl.as_secs()),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| GatewayError::Config(format!("cannot sign a development token: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_tags_fit_the_tag_limit_and_depend_on_key_and_player() {
        let token = SecretText::new("org-token");
        let derived = OwnerKey::new(None, &token);
        let configured = OwnerKey::new(Some(&SecretText::new("owner-key")), &token);
        let tag = derived.tag("alice");
        assert_eq!(tag.len(), 19);
        assert!(tag.starts_with(OWNER_TAG_PREFIX));
        assert_eq!(tag, OwnerKey::new(None, &token).tag("alice"));
        assert_ne!(tag, derived.tag("bob"));
        assert_ne!(tag, configured.tag("alice"));
        assert!(!tag.contains("org-token"));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.168.1.1".into()]).unwrap();
        let player: IpAddr = "203.0.113.7".parse().unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        let lines = |lines: &'static [&'static str]| lines.iter().copied();
        // From a stranger the header is ignored.
        assert_eq!(proxies.client(stranger, lines(&["1.2.3.4"])), stranger);
        // From a proxy: the right-most untrusted entry (a client cannot prepend its way in).
        assert_eq!(
            proxies.client(proxy, lines(&["1.2.3.4, 203.0.113.7, 192.168.1.1"])),
            player
        );
        assert_eq!(proxies.client(proxy, lines(&[])), proxy);
        assert_eq!(proxies.client(proxy, lines(&["garbage"])), proxy);
        // Lines are one list: the client's own line comes first, the proxy's last.
        assert_eq!(
            proxies.client(proxy, lines(&["1.2.3.4", "203.0.113.7"])),
            player
        );
        // IPv4-mapped addresses are their IPv4 address, as peers, entries and proxies.
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(
            proxies.client(mapped, lines(&["::ffff:203.0.113.7"])),
            player
        );
        assert_eq!(
            proxies.client("::ffff:198.51.100.1".parse().unwrap(), lines(&[])),
            stranger
        );
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert_eq!(check_sub("alice"), Ok(()));
        for sub in [
            "",
            " alice",
            "alice ",
            "alice\nINFO forged",
            "a\u{7}",
            "\u{a0}alice",
        ] {
            assert!(check_sub(sub).is_err(), "{sub:?}");
        }
        assert!(TrustedProxies::parse(&["not-an-ip".into()]).is_err());
    }
}
