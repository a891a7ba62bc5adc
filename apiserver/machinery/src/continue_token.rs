//! List continuation tokens, in upstream's format so tokens look familiar in logs:
//! unpadded URL-safe base64 of `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key>\u0000"}`,
//! where `start` is the last returned key relative to the list's key prefix plus a NUL (the first
//! key the next page may hold). Clients treat the token as opaque.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const VERSION: &str = "meta.k8s.io/v1";

/// Why a continue token was refused (a 400 Bad Request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("continue key is not valid: {0}")]
pub struct ContinueError(pub &'static str);

#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    v: String,
    rv: i64,
    start: String,
}

/// Where the next page of a list starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continue {
    /// The snapshot revision every page of the list is read at; 0 means "the latest" (the
    /// token a 410 offers to continue inconsistently, encoded as resourceVersion -1).
    pub revision: u64,
    /// The last key already returned, relative to the list's key prefix (the next page starts
    /// strictly after it).
    pub after: String,
}

impl Continue {
    /// The token for the page after `after` (relative key), read at `revision`.
    pub fn encode(&self) -> String {
        let wire = Wire {
            v: VERSION.to_string(),
            rv: if self.revision == 0 { -1 } else { i64::try_from(self.revision).unwrap_or(i64::MAX) },
            start: format!("{}\u{0}", self.after),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).expect("a struct of strings and numbers serialises"))
    }

    /// Parses a token from the `continue` query parameter.
    pub fn decode(token: &str) -> Result<Self, ContinueError> {
        let json =
            URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).map_err(|_| ContinueError("illegal base64 data"))?;
        let wire: Wire = serde_json::from_slice(&json).map_err(|_| ContinueError("malformed encoded key"))?;
        if wire.v != VERSION {
            return Err(ContinueError("server does not recognize this encoded key"));
        }
        let revision = match wire.rv {
            -1 => 0,
            rv => u64::try_from(rv)
                .ok()
                .filter(|&rv| rv > 0)
                .ok_or(ContinueError("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?,
        };
        let after = wire.start.strip_suffix('\u{0}').unwrap_or(&wire.start);
        if after.is_empty() {
            return Err(ContinueError("encoded start key empty"));
        }
        // The key is joined to the list's prefix: it must not climb out of it.
        if after.starts_with('/') || after.split('/').any(|segment| segment == ".." || segment == ".") {
            return Err(ContinueError("encoded start key is not a relative key"));
        }
        Ok(Self { revision, after: after.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let token = Continue { revision: 42, after: "default/web-7".into() };
        let encoded = token.encode();
        assert!(!encoded.contains('='), "unpadded");
        assert_eq!(Continue::decode(&encoded).unwrap(), token);
    }

    #[test]
    fn latest_is_resource_version_minus_one() {
        let latest = Continue { revision: 0, after: "ns/a".into() };
        let wire = String::from_utf8(URL_SAFE_NO_PAD.decode(latest.encode()).unwrap()).unwrap();
        assert!(wire.contains(r#""rv":-1"#), "{wire}");
        assert_eq!(Continue::decode(&latest.encode()).unwrap(), latest);
    }

    #[test]
    fn matches_upstream_wire_format() {
        let encoded = URL_SAFE_NO_PAD.encode(br#"{"v":"meta.k8s.io/v1","rv":7,"start":"ns/a\u0000"}"#);
        assert_eq!(Continue::decode(&encoded).unwrap(), Continue { revision: 7, after: "ns/a".into() });
    }

    #[test]
    fn refuses_bad_tokens() {
        let enc = |json: &str| URL_SAFE_NO_PAD.encode(json.as_bytes());
        for bad in [
            "!!!".to_string(),
            enc("not json"),
            enc(r#"{"v":"other/v1","rv":7,"start":"a"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":-3,"start":"a"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":-2,"start":"a"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":7,"start":""}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":7,"start":"../secrets/x"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":7,"start":"/abs"}"#),
        ] {
            assert!(Continue::decode(&bad).is_err(), "{bad}");
        }
    }
}
