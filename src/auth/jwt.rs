//! Token verification and minting. The algorithm comes from configuration, never from the
//! token header; the access claims are checked strictly, one and only one of them.

use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Map, Value};

use super::{Access, Principal};
use crate::config::JwtSettings;
use crate::ids::{OrgId, UserId};

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

/// The verification (and, for a shared secret, signing) keys of this deployment.
#[derive(Clone)]
pub struct JwtKeys {
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    issuer: Option<String>,
    audience: Option<String>,
    development: bool,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.algorithm)
            .field("development", &self.development)
            .finish()
    }
}

/// Why a token was refused. The message is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TokenRejected(pub String);

impl JwtKeys {
    /// Keys from configuration. `development_secret` is used only when neither a secret nor a
    /// public key is configured. Errors name the setting at fault.
    pub fn from_settings(
        settings: &JwtSettings,
        development_secret: Option<&str>,
    ) -> Result<Self, String> {
        let (algorithm, decoding, encoding, development) =
            match (&settings.jwt_secret, &settings.jwt_public_key_file) {
                (Some(_), Some(_)) => {
                    return Err("set either JWT_SECRET or JWT_PUBLIC_KEY_FILE, not both".into());
                }
                (Some(secret), None) => {
                    if secret.len() < 16 {
                        return Err("JWT_SECRET must be at least 16 bytes long".into());
                    }
                    if let Some(alg) = &settings.jwt_algorithm {
                        if alg != "HS256" {
                            return Err(format!(
                                "JWT_ALGORITHM `{alg}` does not fit JWT_SECRET, which is HS256"
                            ));
                        }
                    }
                    let bytes = secret.as_bytes();
                    (
                        Algorithm::HS256,
                        DecodingKey::from_secret(bytes),
                        Some(EncodingKey::from_secret(bytes)),
                        false,
                    )
                }
                (None, Some(path)) => {
                    let pem = std::fs::read(path).map_err(|e| {
                        format!(
                            "JWT_PUBLIC_KEY_FILE `{}` cannot be read: {e}",
                            path.display()
                        )
                    })?;
                    let (alg, key) = public_key(&pem, settings.jwt_algorithm.as_deref())
                        .map_err(|e| format!("JWT_PUBLIC_KEY_FILE `{}`: {e}", path.display()))?;
                    (alg, key, None, false)
                }
                (None, None) => {
                    let secret = development_secret.ok_or(
                        "no JWT_SECRET or JWT_PUBLIC_KEY_FILE, and no development secret available",
                    )?;
                    let bytes = secret.as_bytes();
                    (
                        Algorithm::HS256,
                        DecodingKey::from_secret(bytes),
                        Some(EncodingKey::from_secret(bytes)),
                        true,
                    )
                }
            };
        Ok(Self {
            algorithm,
            decoding,
            encoding,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            development,
        })
    }

    /// An HS256 key set for tests and tools.
    pub fn hs256(secret: &str) -> Self {
        let bytes = secret.as_bytes();
        Self {
            algorithm: Algorithm::HS256,
            decoding: DecodingKey::from_secret(bytes),
            encoding: Some(EncodingKey::from_secret(bytes)),
            issuer: None,
            audience: None,
            development: false,
        }
    }

    /// Whether the keys are the development secret (no JWT setting).
    pub fn is_development(&self) -> bool {
        self.development
    }

    pub fn can_mint(&self) -> bool {
        self.encoding.is_some()
    }

    fn validation(&self) -> Validation {
        let mut validation = Validation::new(self.algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        match &self.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation
    }

    /// Verifies a token and reads its claims into a principal.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenRejected> {
        let data = decode::<Map<String, Value>>(token, &self.decoding, &self.validation())
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                let why = match e.kind() {
                    K::ExpiredSignature => "the token has expired",
                    K::ImmatureSignature => "the token is not valid yet (nbf)",
                    K::InvalidIssuer => "the token's issuer is not accepted",
                    K::InvalidAudience => "the token's audience is not accepted",
                    K::MissingRequiredClaim(_) => "the token lacks a required claim",
                    K::InvalidSignature => "the token's signature is invalid",
                    K::InvalidAlgorithm => "the token's algorithm is not accepted",
                    K::InvalidClaimFormat(_) => "a token claim has the wrong type",
                    _ => "the token is malformed",
                };
                TokenRejected(format!("Invalid token: {why}."))
            })?;
        principal_from_claims(&data.claims)
    }

    /// Mints a token with the configured shared secret.
    pub fn mint(&self, access: &Access, scope: &str, ttl: Duration) -> Result<String, String> {
        let key = self.encoding.as_ref().ok_or(
            "tokens can only be minted with JWT_SECRET or the development secret, not with a public key",
        )?;
        let now = chrono::Utc::now().timestamp();
        let exp = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2));
        let mut claims = json!({ "iat": now, "exp": exp, "scope": scope });
        let (name, value, sub) = match access {
            Access::User(id) => ("user", json!(id.as_str()), id.to_string()),
            Access::Org(id) => ("org", json!(id.as_str()), id.to_string()),
            Access::AllAreas => ("access_all_areas", json!(true), "all-areas".to_owned()),
        };
        claims[name] = value;
        claims["sub"] = json!(sub);
        if let Some(iss) = &self.issuer {
            claims["iss"] = json!(iss);
        }
        if let Some(aud) = &self.audience {
            claims["aud"] = json!(aud);
        }
        encode(&Header::new(self.algorithm), &claims, key)
            .map_err(|e| format!("cannot sign token: {e}"))
    }

    /// A token for people trying the gateway out (the ones `serve` logs and the playground
    /// offers in development mode): reading and writing, valid 24 hours.
    pub fn mint_demo(&self, access: &Access) -> Result<String, String> {
        self.mint(
            access,
            "support:read support:write",
            Duration::from_secs(24 * 3600),
        )
    }
}

fn public_key(pem: &[u8], pinned: Option<&str>) -> Result<(Algorithm, DecodingKey), String> {
    let text = String::from_utf8_lossy(pem);
    let algorithm = match pinned {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        Some("EdDSA") => Algorithm::EdDSA,
        Some(other) => {
            return Err(format!(
                "JWT_ALGORITHM `{other}` is not one of RS256, ES256, EdDSA"
            ))
        }
        None if text.contains("RSA") => Algorithm::RS256,
        None => {
            // A SubjectPublicKeyInfo PEM does not say its kind in the header; try each parser.
            if DecodingKey::from_ec_pem(pem).is_ok() {
                Algorithm::ES256
            } else if DecodingKey::from_ed_pem(pem).is_ok() {
                Algorithm::EdDSA
            } else {
                Algorithm::RS256
            }
        }
    };
    let key = match algorithm {
        Algorithm::RS256 => DecodingKey::from_rsa_pem(pem),
        Algorithm::ES256 => DecodingKey::from_ec_pem(pem),
        _ => DecodingKey::from_ed_pem(pem),
    }
    .map_err(|e| format!("not a valid {algorithm:?} public key: {e}"))?;
    Ok((algorithm, key))
}

/// Exactly one access claim, each of the right type; `scope` a string when present.
fn principal_from_claims(claims: &Map<String, Value>) -> Result<Principal, TokenRejected> {
    let reject = |why: &str| TokenRejected(format!("Invalid token: {why}."));
    let mut found = Vec::new();
    if let Some(v) = claims.get("user") {
        let s = v
            .as_str()
            .ok_or_else(|| reject("the `user` claim must be a user id"))?;
        found.push(Access::User(
            UserId::parse(s).map_err(|_| reject("the `user` claim must be a user id"))?,
        ));
    }
    if let Some(v) = claims.get("org") {
        let s = v
            .as_str()
            .ok_or_else(|| reject("the `org` claim must be an organization id"))?;
        found.push(Access::Org(OrgId::parse(s).map_err(|_| {
            reject("the `org` claim must be an organization id")
        })?));
    }
    match claims.get("access_all_areas") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => found.push(Access::AllAreas),
        Some(_) => return Err(reject("the `access_all_areas` claim must be a boolean")),
    }
    let access = match found.len() {
        1 => found.remove(0),
        0 => {
            return Err(reject(
                "it carries no access claim (`user`, `org` or `access_all_areas`)",
            ))
        }
        _ => return Err(reject("it carries more than one access claim")),
    };
    let oauth_scopes = match claims.get("scope") {
        None => Vec::new(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(_) => return Err(reject("the `scope` claim must be a space-separated string")),
    };
    let subject = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s.chars().take(200).collect(),
        _ => match &access {
            Access::User(id) => id.to_string(),
            Access::Org(id) => id.to_string(),
            Access::AllAreas => "all-areas".to_owned(),
        },
    };
    let client_id = match claims.get("client_id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.chars().take(200).collect()),
        _ => None,
    };
    Ok(Principal {
        access,
        oauth_scopes,
        subject,
        client_id,
        acting_user: None,
        expires_at: claims.get("exp").and_then(Value::as_i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn exactly_one_access_claim_is_accepted() {
        let user = "user01HN2NJ9NMRZBXT1H6FT9N7735";
        assert!(principal_from_claims(&claims(json!({"user": user}))).is_ok());
        assert!(principal_from_claims(&claims(json!({"access_all_areas": true}))).is_ok());
        assert!(principal_from_claims(&claims(json!({}))).is_err());
        assert!(principal_from_claims(&claims(json!({"access_all_areas": false}))).is_err());
        assert!(
            principal_from_claims(&claims(json!({"user": user, "access_all_areas": true})))
                .is_err()
        );
        assert!(principal_from_claims(&claims(json!({"access_all_areas": "true"}))).is_err());
        assert!(principal_from_claims(&claims(json!({"user": 5}))).is_err());
        assert!(principal_from_claims(&claims(json!({"org": user}))).is_err());
    }

    #[test]
    fn minted_tokens_verify() {
        let keys = JwtKeys::hs256("a-test-secret-of-enough-length");
        let token = keys
            .mint(&Access::AllAreas, "support:read", Duration::from_secs(60))
            .unwrap();
        let principal = keys.verify(&token).unwrap();
        assert_eq!(principal.access, Access::AllAreas);
        assert_eq!(principal.oauth_scopes, vec!["support:read".to_owned()]);
    }
}
