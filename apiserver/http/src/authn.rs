//! Authentication: x509 client certificates signed by the cluster CA (rustls has verified the
//! chain; the user is the subject's CN, the groups its O values) and bearer tokens.
//! Everything authenticated is `system:authenticated`; no credentials means 401.

use std::collections::HashMap;

use rustls::pki_types::CertificateDer;

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User name.
    pub name: String,
    /// Groups, `system:authenticated` included.
    pub groups: Vec<String>,
}

impl User {
    fn new(name: impl Into<String>, mut groups: Vec<String>) -> Self {
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Self { name: name.into(), groups }
    }
}

/// Maps credentials to users.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    tokens: HashMap<String, User>,
}

impl Authenticator {
    /// An authenticator that knows the admin token.
    pub fn new(admin_token: &str) -> Self {
        let mut tokens = HashMap::new();
        tokens.insert(admin_token.to_string(), User::new("kubernetes-admin", vec!["system:masters".into()]));
        Self { tokens }
    }

    /// Adds a static token.
    pub fn add_token(&mut self, token: &str, user: &str, groups: Vec<String>) {
        self.tokens.insert(token.to_string(), User::new(user, groups));
    }

    /// The user behind a request: its verified client certificate, else its bearer token.
    pub fn authenticate(&self, client_cert: Option<&CertificateDer<'_>>, authorization: Option<&str>) -> Option<User> {
        if let Some(user) = client_cert.and_then(user_from_certificate) {
            return Some(user);
        }
        // The scheme is case-insensitive; an empty token is never valid.
        let (scheme, token) = authorization?.split_once(' ')?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return None;
        }
        self.tokens.get(token).cloned()
    }
}

/// `CN` is the user, each `O` a group (upstream's x509 authenticator).
fn user_from_certificate(der: &CertificateDer<'_>) -> Option<User> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_string();
    let groups = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
    Some(User::new(name, groups))
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject;

    use super::*;
    use crate::tls::Pki;

    #[test]
    fn admin_certificate_and_token_authenticate() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::load_or_create(dir.path(), &[]).unwrap();
        let authn = Authenticator::new(&pki.admin_token);
        let cert = CertificateDer::from_pem_slice(pki.admin_cert.as_bytes()).unwrap();
        let by_cert = authn.authenticate(Some(&cert), None).unwrap();
        assert_eq!(by_cert.name, "kubernetes-admin");
        assert_eq!(by_cert.groups, vec!["system:masters", "system:authenticated"]);
        let header = format!("Bearer {}", pki.admin_token);
        assert_eq!(authn.authenticate(None, Some(&header)).unwrap().name, "kubernetes-admin");
        assert!(authn.authenticate(None, Some("Bearer wrong")).is_none());
        assert!(authn.authenticate(None, Some("Bearer ")).is_none());
        let lower = format!("bearer {}", pki.admin_token);
        assert!(authn.authenticate(None, Some(&lower)).is_some());
        assert!(authn.authenticate(None, None).is_none());
    }
}
