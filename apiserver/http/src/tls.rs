//! The cluster PKI and the TLS server configuration.
//!
//! On first start a CA, a serving certificate (for 127.0.0.1, ::1, localhost and the bind
//! address), an admin client certificate (`CN=kubernetes-admin, O=system:masters`) and an admin
//! bearer token are generated into `<data-dir>/pki/`, and the service account signing key
//! (`sa.key`, ECDSA P-256) next to them; later starts reuse them, so kubeconfigs and issued
//! service account tokens keep working across restarts. Clients may present a certificate signed by the CA (x509
//! authentication) or none (then a bearer token authenticates them).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// Why the PKI could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// Generating a certificate.
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM file that does not parse.
    #[error("{0}: not a valid PEM certificate or key")]
    Pem(PathBuf),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(String),
}

/// The cluster's certificates and admin credentials, as PEM text.
#[derive(Clone)]
pub struct Pki {
    /// CA certificate (PEM).
    pub ca_cert: String,
    /// Serving certificate (PEM).
    pub server_cert: String,
    server_key: String,
    /// Admin client certificate (PEM).
    pub admin_cert: String,
    /// Admin client key (PEM).
    pub admin_key: String,
    /// Admin bearer token.
    pub admin_token: String,
    /// The key service account tokens are signed with (PEM, PKCS#8, ECDSA P-256).
    pub service_account_key: String,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

const FILES: [&str; 7] = ["ca.crt", "ca.key", "server.crt", "server.key", "admin.crt", "admin.key", "admin.token"];
/// The service account signing key: kept apart from [`FILES`] so that a data directory from
/// before service account tokens gets one without a new CA.
const SERVICE_ACCOUNT_KEY: &str = "sa.key";

fn read(dir: &Path, name: &str) -> Result<String, TlsError> {
    let path = dir.join(name);
    fs::read_to_string(&path).map_err(|source| TlsError::Io { path, source })
}

/// Writes a file readable by its owner only (keys and tokens), atomically: it is created with
/// mode 0600 (never briefly world-readable) and renamed into place.
fn write(dir: &Path, name: &str, contents: &str) -> Result<(), TlsError> {
    use std::io::Write;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |source| TlsError::Io { path: path.clone(), source };
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, &path).map_err(io)
}

/// Creates the PKI directory, owner-only.
fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| TlsError::Io { path: dir.to_path_buf(), source })
}

impl Pki {
    /// Loads `<data_dir>/pki`, creating it on first start. `hosts` are extra names or addresses
    /// the serving certificate must cover.
    pub fn load_or_create(data_dir: &Path, hosts: &[String]) -> Result<Self, TlsError> {
        let dir = data_dir.join("pki");
        let mut pki = Self::load_or_create_certificates(&dir, hosts)?;
        pki.service_account_key = if dir.join(SERVICE_ACCOUNT_KEY).exists() {
            read(&dir, SERVICE_ACCOUNT_KEY)?
        } else {
            let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?.serialize_pem();
            write(&dir, SERVICE_ACCOUNT_KEY, &key)?;
            key
        };
        Ok(pki)
    }

    fn load_or_create_certificates(dir: &Path, hosts: &[String]) -> Result<Self, TlsError> {
        if FILES.iter().all(|f| dir.join(f).exists()) {
            return Some(Self {
                ca_cert: read(dir, "ca.crt")?,
                server_cert: read(dir, "server.crt")?,
                server_key: read(dir, "server.key")?,
                admin_cert: read(dir, "admin.crt")?,
                admin_key: read(dir, "admin.key")?,
                admin_token: read(dir, "admin.token")?.trim().to_string(),
                service_account_key: String::new(),
            })
            .filter(|pki| !pki.admin_token.is_empty())
            .ok_or_else(|| TlsError::Pem(dir.join("admin.token")));
        }
        create_private_dir(dir)?;
        let pki = Self::generate(hosts)?;
        let ca_key = pki.ca_key_pem.clone();
        let pki = pki.pki;
        // The token last: its presence marks a complete PKI.
        write(dir, "ca.key", &ca_key)?;
        write(dir, "ca.crt", &pki.ca_cert)?;
        write(dir, "server.crt", &pki.server_cert)?;
        write(dir, "server.key", &pki.server_key)?;
        write(dir, "admin.crt", &pki.admin_cert)?;
        write(dir, "admin.key", &pki.admin_key)?;
        write(dir, "admin.token", &pki.admin_token)?;
        Ok(pki)
    }

    fn generate(hosts: &[String]) -> Result<Generated, TlsError> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "kybernetes-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_key = KeyPair::generate()?;
        let ca_key_pem = ca_key.serialize_pem();
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;

        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string(), "kubernetes".into()];
        names.extend(hosts.iter().filter(|h| !h.is_empty() && h.as_str() != "0.0.0.0" && h.as_str() != "::").cloned());
        names.dedup();
        let mut server_params = CertificateParams::new(names)?;
        server_params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate()?;
        let server_cert = server_params.signed_by(&server_key, &ca)?;

        let mut admin_params = CertificateParams::new(Vec::<String>::new())?;
        admin_params.distinguished_name.push(DnType::CommonName, "kubernetes-admin");
        admin_params.distinguished_name.push(DnType::OrganizationName, "system:masters");
        admin_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let admin_key = KeyPair::generate()?;
        let admin_cert = admin_params.signed_by(&admin_key, &ca)?;

        let token: String = {
            use rand::Rng;
            let mut rng = rand::rng();
            (0..32).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
        };
        Ok(Generated {
            ca_key_pem,
            pki: Self {
                ca_cert: ca.pem(),
                server_cert: server_cert.pem(),
                server_key: server_key.serialize_pem(),
                admin_cert: admin_cert.pem(),
                admin_key: admin_key.serialize_pem(),
                admin_token: token,
                service_account_key: String::new(),
            },
        })
    }

    /// The rustls configuration: our serving certificate, HTTP/2 and HTTP/1.1, and optional
    /// client certificates verified against the cluster CA.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ca = CertificateDer::from_pem_slice(self.ca_cert.as_bytes()).map_err(|_| TlsError::Pem("ca.crt".into()))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca)?;
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .allow_unauthenticated()
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(self.server_cert.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|_| TlsError::Pem("server.crt".into()))?;
        let key = PrivateKeyDer::from_pem_slice(self.server_key.as_bytes())
            .map_err(|_| TlsError::Pem("server.key".into()))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl Pki {
    /// An admin kubeconfig for `server_url` (JSON, which kubectl reads like YAML): the cluster
    /// CA and the admin client certificate, embedded.
    pub fn admin_kubeconfig(&self, server_url: &str) -> serde_json::Value {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kybernetes", "cluster": {
                "server": server_url,
                "certificate-authority-data": STANDARD.encode(&self.ca_cert),
            }}],
            "users": [{"name": "kybernetes-admin", "user": {
                "client-certificate-data": STANDARD.encode(&self.admin_cert),
                "client-key-data": STANDARD.encode(&self.admin_key),
            }}],
            "contexts": [{"name": "kybernetes", "context": {
                "cluster": "kybernetes", "user": "kybernetes-admin", "namespace": "default",
            }}],
            "current-context": "kybernetes",
            "preferences": {},
        })
    }
}

struct Generated {
    ca_key_pem: String,
    pki: Pki,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Pki::load_or_create(dir.path(), &["10.0.0.1".into()]).unwrap();
        let second = Pki::load_or_create(dir.path(), &[]).unwrap();
        assert_eq!(first.ca_cert, second.ca_cert);
        assert_eq!(first.admin_token, second.admin_token);
        assert_eq!(first.admin_token.len(), 64);
        assert_eq!(first.service_account_key, second.service_account_key);
        crate::serviceaccount_token::SigningKey::from_pem(&first.service_account_key).expect("an ES256 key");
        first.server_config().expect("a valid rustls configuration");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for key in ["pki/ca.key", "pki/sa.key"] {
                let mode = fs::metadata(dir.path().join(key)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{key}");
            }
        }
    }

    #[test]
    fn an_older_pki_gets_a_signing_key_and_keeps_its_ca() {
        let dir = tempfile::tempdir().unwrap();
        let first = Pki::load_or_create(dir.path(), &[]).unwrap();
        fs::remove_file(dir.path().join("pki/sa.key")).unwrap();
        let second = Pki::load_or_create(dir.path(), &[]).unwrap();
        assert_eq!(first.ca_cert, second.ca_cert);
        assert_ne!(first.service_account_key, second.service_account_key);
        assert!(dir.path().join("pki/sa.key").exists());
    }
}
