//! TLS for `wss://` signaling: the platform's certificate verifier (the
//! system's trusted roots on Linux, honouring `SSL_CERT_FILE`; the OS's own
//! verifier on Android, macOS, iOS and Windows) on rustls with ring, the
//! provider the rest of the app's TLS uses. There is no way to turn
//! verification off and no fallback to `ws://`: a meeting server whose
//! certificate fails is not the user's meeting server.

use std::sync::{Arc, OnceLock};

use rustls::{CertificateError, ClientConfig};
use rustls_platform_verifier::BuilderVerifierExt;

use crate::error::MeetingError;

/// One config per process: loading the system's roots reads a few hundred
/// files, and they do not change during a call.
pub(crate) fn client_config() -> Result<Arc<ClientConfig>, MeetingError> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .and_then(|b| b.with_platform_verifier())
                .map(|b| Arc::new(b.with_no_client_auth()))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| {
            MeetingError::UntrustedServer(format!(
                "this device's trusted certificates cannot be loaded ({e})"
            ))
        })
}

/// Turns a failed TLS handshake into what the user can act on, or `None`
/// when the failure was not about the certificate.
pub(crate) fn describe_certificate_failure(
    error: &(dyn std::error::Error + 'static),
    host: &str,
) -> Option<String> {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(rustls::Error::InvalidCertificate(cert)) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(cert, host));
        }
        // An io::Error's `source()` skips the error it wraps; `get_ref` is
        // the way in (tokio-rustls reports handshake failures as io errors).
        source = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

fn describe(error: &CertificateError, host: &str) -> String {
    match error {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
            "the certificate of {host} has expired; its operator must renew it \
             (or this device's clock is wrong)"
        ),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("the certificate of {host} is not valid yet; check this device's date and time")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "the certificate presented is not for {host}; check the server address in the \
                 meeting link"
            )
        }
        CertificateError::UnknownIssuer => format!(
            "the certificate of {host} is not signed by an authority this device trusts \
             (a self-signed certificate?); ask the server's operator for one from a public \
             authority, or add theirs to this device's trusted certificates"
        ),
        CertificateError::Revoked => format!("the certificate of {host} has been revoked"),
        other => format!("the certificate of {host} is not acceptable ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_certificate_error_however_deeply_it_is_wrapped() {
        let rustls_error = rustls::Error::InvalidCertificate(CertificateError::Expired);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls_error);
        let text = describe_certificate_failure(&io, "meet.example.org").expect("found");
        assert!(text.contains("meet.example.org has expired"), "{text}");

        let other = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(describe_certificate_failure(&other, "h"), None);
    }

    #[test]
    fn each_common_failure_says_what_to_do() {
        for (error, needle) in [
            (
                CertificateError::UnknownIssuer,
                "not signed by an authority",
            ),
            (
                CertificateError::NotValidForName,
                "check the server address",
            ),
            (CertificateError::NotValidYet, "date and time"),
            (CertificateError::BadSignature, "not acceptable"),
        ] {
            let text = describe(&error, "h.example");
            assert!(text.contains(needle), "{error:?}: {text}");
        }
    }

    #[test]
    fn the_system_roots_load() {
        // Debian's ca-certificates is part of every machine this runs on; a
        // config that cannot be built would fail every wss:// meeting.
        assert!(client_config().is_ok());
    }
}
