//! TLS for `wss://` (rustls with the *ring* provider, TLS 1.2 and 1.3):
//! the client configurations, where trust comes from, and what goes wrong
//! ([`TlsError`]: the failure with its cause, put in words a script's
//! author can act on only by its `Display`).
//!
//! Trust: the system's CA bundle (the file `SSL_CERT_FILE` names, else the
//! first of the usual places, `/etc/ssl/certs/ca-certificates.crt` on
//! Debian), read once per process; `-cafile` replaces it by the
//! certificates of that file (as `tls::socket -cafile` does). The server's
//! certificate must chain to one of them and name the host of the URL
//! (a DNS name, sent as SNI, or an IP address). `-insecure` accepts any
//! certificate (the handshake's signatures are still checked).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, InvalidDnsNameError, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    Error, RootCertStore, SignatureScheme,
};

/// Where the system's CA bundle is looked for, in order (after
/// `SSL_CERT_FILE`).
const SYSTEM_BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// What `open`'s TLS options ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust these CA certificates instead of the system's.
    pub cafile: Option<PathBuf>,
    /// A client certificate (chain), PEM.
    pub certfile: Option<PathBuf>,
    /// Its private key, PEM (default: in `certfile`).
    pub keyfile: Option<PathBuf>,
    /// Accept any server certificate.
    pub insecure: bool,
}

/// What goes wrong with TLS: a configuration that cannot be made from
/// `open`'s options, or a session that fails. It keeps its cause
/// ([`std::error::Error::source`]); its `Display` is the reason the Tcl
/// layer and the log show.
#[derive(Debug)]
pub enum TlsError {
    /// rustls refused the protocol versions asked for.
    Versions(Error),
    /// `-keyfile` without `-certfile`.
    KeyWithoutCertificate { keyfile: PathBuf },
    /// A file of an option (`what`: "-cafile"...) could not be read.
    Read {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A file of certificates that is not good PEM.
    BadPem {
        what: &'static str,
        path: PathBuf,
        source: pem::Error,
    },
    /// A file of certificates with none in it.
    NoCertificate { what: &'static str, path: PathBuf },
    /// No private key could be read from the key file.
    NoPrivateKey { path: PathBuf, source: pem::Error },
    /// `-cafile`'s certificates are none of them usable as a CA.
    NoUsableCa { path: PathBuf },
    /// None of the system's CA bundles could be read.
    NoSystemRoots,
    /// rustls refused the client certificate and key.
    ClientCertificate(Error),
    /// The URL's host cannot be a certificate's name.
    BadServerName {
        host: String,
        source: InvalidDnsNameError,
    },
    /// The session failed: a certificate not trusted or not for the host,
    /// an alert from the server...
    Session(Error),
    /// The server, having asked for a client certificate, ended the
    /// connection without a word after receiving ours.
    ClientCertificateRefused,
    /// The server, having asked for a client certificate we do not have,
    /// ended the connection without a word.
    ClientCertificateRequired,
    /// The server ended the connection during the handshake.
    EndedHandshake,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Versions(e) => write!(f, "{e}"),
            TlsError::KeyWithoutCertificate { keyfile } => write!(
                f,
                "-keyfile \"{}\" given without -certfile",
                keyfile.display()
            ),
            TlsError::Read { what, path, source } => {
                let e = source.to_string();
                let e = e.split(" (os error").next().unwrap_or(&e).to_lowercase();
                write!(f, "cannot read {what} \"{}\": {e}", path.display())
            }
            TlsError::BadPem { what, path, source } => {
                write!(f, "bad PEM in {what} \"{}\": {source}", path.display())
            }
            TlsError::NoCertificate { what, path } => {
                write!(f, "no certificate in {what} \"{}\"", path.display())
            }
            TlsError::NoPrivateKey { path, source } => write!(
                f,
                "no usable private key in \"{}\": {source}",
                path.display()
            ),
            TlsError::NoUsableCa { path } => write!(
                f,
                "no usable CA certificate in -cafile \"{}\"",
                path.display()
            ),
            TlsError::NoSystemRoots => write!(
                f,
                "no system CA certificates (looked for {}); give -cafile",
                SYSTEM_BUNDLES[0]
            ),
            TlsError::ClientCertificate(e) => {
                write!(f, "unusable client certificate or key: {e}")
            }
            TlsError::BadServerName { host, .. } => {
                write!(f, "\"{host}\" is not a valid host name for TLS")
            }
            TlsError::Session(e) => f.write_str(&describe(e)),
            TlsError::ClientCertificateRefused => f.write_str(
                "the server ended the connection after receiving our client certificate: \
                 it does not accept it",
            ),
            TlsError::ClientCertificateRequired => f.write_str(CERTIFICATE_REQUIRED),
            TlsError::EndedHandshake => f.write_str(
                "the server closed the connection during the TLS handshake \
                 (is it a TLS server?)",
            ),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Versions(e) | TlsError::ClientCertificate(e) | TlsError::Session(e) => {
                Some(e)
            }
            TlsError::Read { source, .. } => Some(source),
            TlsError::BadPem { source, .. } | TlsError::NoPrivateKey { source, .. } => Some(source),
            TlsError::BadServerName { source, .. } => Some(source),
            TlsError::KeyWithoutCertificate { .. }
            | TlsError::NoCertificate { .. }
            | TlsError::NoUsableCa { .. }
            | TlsError::NoSystemRoots
            | TlsError::ClientCertificateRefused
            | TlsError::ClientCertificateRequired
            | TlsError::EndedHandshake => None,
        }
    }
}

/// Why a server asks for a client certificate it did not get.
const CERTIFICATE_REQUIRED: &str =
    "the server requires a client certificate (see -certfile and -keyfile)";

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The client configuration for these options. The one without options
/// (system store, no client certificate) is made once and shared, so that
/// its session cache serves every connection.
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, TlsError> {
    if *opts == TlsOptions::default() {
        static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
        if let Some(config) = DEFAULT.get() {
            return Ok(config.clone());
        }
        // A failure is not kept: the system's roots, read once, fail again.
        let config = Arc::new(build(opts)?);
        return Ok(DEFAULT.get_or_init(|| config).clone());
    }
    build(opts).map(Arc::new)
}

fn build(opts: &TlsOptions) -> Result<ClientConfig, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Versions)?;
    let builder = if opts.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
    } else {
        let roots = match &opts.cafile {
            Some(path) => Arc::new(ca_file(path)?),
            None => system_roots()?,
        };
        builder.with_root_certificates(roots)
    };
    let mut config = match &opts.certfile {
        None => {
            if let Some(k) = &opts.keyfile {
                return Err(TlsError::KeyWithoutCertificate { keyfile: k.clone() });
            }
            builder.with_no_client_auth()
        }
        Some(cert) => {
            let chain = certificates(cert, "-certfile")?;
            let key_path = opts.keyfile.as_deref().unwrap_or(cert);
            let key = private_key(key_path)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(TlsError::ClientCertificate)?
        }
    };
    config.enable_sni = true;
    Ok(config)
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Every certificate of a PEM file (at least one).
fn certificates(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::BadPem {
            what,
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what,
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path, "-keyfile")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|source| TlsError::NoPrivateKey {
        path: path.to_owned(),
        source,
    })
}

fn ca_file(path: &Path) -> Result<RootCertStore, TlsError> {
    let certs = certificates(path, "-cafile")?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsError::NoUsableCa {
            path: path.to_owned(),
        });
    }
    Ok(roots)
}

/// The system's CA certificates, read once.
fn system_roots() -> Result<Arc<RootCertStore>, TlsError> {
    static ROOTS: OnceLock<Option<Arc<RootCertStore>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
            let candidates = env
                .into_iter()
                .chain(SYSTEM_BUNDLES.iter().map(PathBuf::from));
            for path in candidates {
                let Ok(pem) = std::fs::read(&path) else {
                    continue;
                };
                let mut roots = RootCertStore::empty();
                let certs = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok);
                roots.add_parsable_certificates(certs);
                if !roots.is_empty() {
                    return Some(Arc::new(roots));
                }
            }
            None
        })
        .clone()
        .ok_or(TlsError::NoSystemRoots)
}

/// What a session knows of the server's interest in a client certificate.
#[derive(Clone, Debug)]
pub struct CertRequest {
    asked: Arc<AtomicBool>,
    /// We have one to give.
    pub have: bool,
}

impl CertRequest {
    /// The server asked for a client certificate.
    pub fn asked(&self) -> bool {
        self.asked.load(Ordering::Relaxed)
    }

    /// Why the server may have ended the connection without a word (many
    /// servers drop a client certificate they refuse without an alert).
    pub fn explain_end(&self) -> Option<TlsError> {
        if !self.asked() {
            return None;
        }
        Some(if self.have {
            TlsError::ClientCertificateRefused
        } else {
            TlsError::ClientCertificateRequired
        })
    }
}

/// A session for one connection to `name`, and what it will know of
/// certificate requests.
pub fn session(
    config: &Arc<ClientConfig>,
    name: ServerName<'static>,
) -> Result<(ClientConnection, CertRequest), Error> {
    let inner = config.client_auth_cert_resolver.clone();
    let request = CertRequest {
        asked: Arc::new(AtomicBool::new(false)),
        have: inner.has_certs(),
    };
    let mut cfg = (**config).clone();
    cfg.client_auth_cert_resolver = Arc::new(Asked {
        inner,
        asked: request.asked.clone(),
    });
    Ok((ClientConnection::new(Arc::new(cfg), name)?, request))
}

/// Passes certificate requests on, noting that there was one.
#[derive(Debug)]
struct Asked {
    inner: Arc<dyn ResolvesClientCert>,
    asked: Arc<AtomicBool>,
}

impl ResolvesClientCert for Asked {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.inner.resolve(root_hint_subjects, sigschemes)
    }

    fn only_raw_public_keys(&self) -> bool {
        self.inner.only_raw_public_keys()
    }

    fn has_certs(&self) -> bool {
        self.inner.has_certs()
    }
}

/// The name the server's certificate must carry (and SNI, for a DNS name).
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_owned()).map_err(|source| TlsError::BadServerName {
        host: host.to_owned(),
        source,
    })
}

/// `-insecure`: every certificate is good; the handshake's signatures are
/// still those of the certificate presented.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS failure in words a script's author can act on.
pub fn describe(e: &Error) -> String {
    use CertificateError as C;
    let cert = "the server's certificate";
    match e {
        Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                format!("{cert} is not signed by a trusted certificate authority (unknown issuer)")
            }
            C::NotValidForNameContext {
                expected,
                presented,
            } => {
                let names = if presented.is_empty() {
                    "no name".to_owned()
                } else {
                    presented
                        .iter()
                        .map(|n| presented_name(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "{cert} does not match the host name \"{}\" (it is for {names})",
                    expected.to_str()
                )
            }
            C::NotValidForName => format!("{cert} does not match the host name"),
            C::Expired | C::ExpiredContext { .. } => format!("{cert} has expired"),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                format!("{cert} is not valid yet")
            }
            C::Revoked => format!("{cert} has been revoked"),
            C::BadSignature => format!("{cert} has a bad signature"),
            C::BadEncoding => format!("{cert} is malformed"),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                format!("{cert} is not meant for a TLS server")
            }
            other => format!("{cert} is not acceptable: {other}"),
        },
        Error::NoCertificatesPresented => "the server sent no certificate".into(),
        Error::AlertReceived(a) => match a {
            AlertDescription::CertificateRequired => CERTIFICATE_REQUIRED.into(),
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied => {
                format!("the server refused our client certificate ({})", alert(a))
            }
            AlertDescription::ProtocolVersion => {
                "the server speaks neither TLS 1.2 nor TLS 1.3".into()
            }
            AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => format!(
                "the server and we have no TLS parameters in common ({})",
                alert(a)
            ),
            _ => format!("the server ended the TLS handshake ({})", alert(a)),
        },
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => {
            format!("the server does not speak TLS ({e})")
        }
        Error::PeerIncompatible(_) => format!("the server's TLS is incompatible ({e})"),
        _ => e.to_string(),
    }
}

/// A name of a certificate as webpki shows it (`DnsName("a.example")`,
/// `IpAddress(127.0.0.1)`), without the wrapping.
fn presented_name(n: &str) -> &str {
    for prefix in ["DnsName(", "IpAddress(", "UniformResourceIdentifier("] {
        if let Some(inner) = n.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')) {
            return inner.trim_matches('"');
        }
    }
    n
}

/// An alert's name as the RFCs spell it ("certificate_required").
fn alert(a: &AlertDescription) -> String {
    let name = format!("{a:?}");
    let mut out = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if ch.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        out.push(ch.to_ascii_lowercase());
    }
    format!("{out} alert")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names() {
        assert_eq!(
            alert(&AlertDescription::CertificateRequired),
            "certificate_required alert"
        );
        assert_eq!(alert(&AlertDescription::UnknownCA), "unknown_ca alert");
    }

    #[test]
    fn presented_names() {
        assert_eq!(presented_name("DnsName(\"a.example\")"), "a.example");
        assert_eq!(presented_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(presented_name("plain"), "plain");
    }

    #[test]
    fn server_names() {
        assert!(server_name("example.com").is_ok());
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("::1"), Ok(ServerName::IpAddress(_))));
        assert!(server_name("bad host").is_err());
    }

    #[test]
    fn errors_in_words_keep_their_cause() {
        let opts = TlsOptions {
            keyfile: Some("/k.pem".into()),
            ..Default::default()
        };
        let e = client_config(&opts).unwrap_err();
        assert_eq!(e.to_string(), "-keyfile \"/k.pem\" given without -certfile");
        let e = server_name("bad host").unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"bad host\" is not a valid host name for TLS"
        );
        assert!(std::error::Error::source(&e).is_some());
        let e = TlsError::Session(Error::AlertReceived(AlertDescription::CertificateRequired));
        assert_eq!(e.to_string(), CERTIFICATE_REQUIRED);
        assert_eq!(
            TlsError::ClientCertificateRequired.to_string(),
            CERTIFICATE_REQUIRED
        );
        assert_eq!(
            TlsError::EndedHandshake.to_string(),
            "the server closed the connection during the TLS handshake (is it a TLS server?)"
        );
        assert_eq!(
            TlsError::NoSystemRoots.to_string(),
            "no system CA certificates (looked for /etc/ssl/certs/ca-certificates.crt); \
             give -cafile"
        );
    }

    #[test]
    fn missing_files_are_named() {
        let opts = TlsOptions {
            cafile: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        let err = client_config(&opts).unwrap_err();
        assert!(matches!(
            &err,
            TlsError::Read {
                what: "-cafile",
                ..
            }
        ));
        let cause = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(cause.map(io::Error::kind), Some(io::ErrorKind::NotFound));
        let e = err.to_string();
        assert!(
            e.contains("cannot read -cafile \"/nonexistent/ca.pem\""),
            "{e}"
        );
        assert!(e.contains("no such file"), "{e}");
    }
}
