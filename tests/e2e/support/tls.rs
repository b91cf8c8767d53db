//! A certificate authority made at test time, for Janus serving `wss://`:
//! nothing secret is committed and nothing outlives the test.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, date_time_ymd};

pub struct TestCa {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

/// A server certificate and its key, as PEM files for Janus.
pub struct ServerCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub enum Validity {
    Current,
    /// Valid in 2020 only.
    Expired,
}

impl TestCa {
    /// Writes the authority's certificate to `ca.pem` in `dir`: clients trust
    /// it through `SSL_CERT_FILE`, as they would an authority of their own.
    pub fn new(dir: &Path) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "TalkLine test CA");
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        std::fs::write(dir.join("ca.pem"), cert.pem()).expect("write ca.pem");
        Self {
            dir: dir.to_path_buf(),
            issuer: Issuer::new(params, key),
        }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn issue(&self, file_stem: &str, names: &[&str], validity: Validity) -> ServerCert {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        if let Validity::Expired = validity {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2020, 12, 31);
        }
        let key = KeyPair::generate().expect("server key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("server certificate");
        let out = ServerCert {
            cert: self.dir.join(format!("{file_stem}.pem")),
            key: self.dir.join(format!("{file_stem}.key")),
        };
        std::fs::write(&out.cert, cert.pem()).expect("write certificate");
        std::fs::write(&out.key, key.serialize_pem()).expect("write key");
        out
    }
}
