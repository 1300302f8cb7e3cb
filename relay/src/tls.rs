/*!
TLS for both front ends: the relay's certificate and key, and the rustls configurations (TLS 1.3 only, ring, no
early data). A relay without a configured certificate makes a self-signed one in its data dir on first start
(`relay-cert.pem`, `relay-key.pem` with mode 0600); clients pin it with `--ca`.
*/

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::store::write_file_durably;

/// The certificate chain and key the relay serves.
pub struct Identity {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Private key.
    pub key: PrivateKeyDer<'static>,
    /// The file clients should trust (`ca` in the ready line).
    pub ca_path: PathBuf,
}

/// Loads `cert`/`key`, or the self-signed pair in `data_dir`, generating it if missing. `names` go into the
/// subject alternative names of a generated certificate (IP addresses become IP SANs).
pub fn load_or_generate(
    data_dir: &Path,
    cert: Option<&Path>,
    key: Option<&Path>,
    names: &[String],
) -> anyhow::Result<Identity> {
    let (cert_path, key_path) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf()),
        (None, None) => {
            let c = data_dir.join("relay-cert.pem");
            let k = data_dir.join("relay-key.pem");
            if !c.exists() || !k.exists() {
                let mut sans: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
                sans.extend(names.iter().cloned());
                sans.sort();
                sans.dedup();
                let generated = rcgen::generate_simple_self_signed(sans)?;
                write_file_durably(&k, generated.key_pair.serialize_pem().as_bytes(), 0o600)?;
                write_file_durably(&c, generated.cert.pem().as_bytes(), 0o644)?;
            }
            (c, k)
        }
        _ => anyhow::bail!("--cert and --key go together"),
    };
    let chain = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", cert_path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", cert_path.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", cert_path.display());
    let key =
        PrivateKeyDer::from_pem_file(&key_path).map_err(|e| anyhow::anyhow!("reading {}: {e}", key_path.display()))?;
    Ok(Identity { chain, key, ca_path: cert_path })
}

/// A TLS 1.3-only server config with the given ALPN protocols. Early data stays off (rustls' default), so no
/// request can be replayed.
pub fn server_config(id: &Identity, alpn: &[&[u8]]) -> anyhow::Result<rustls::ServerConfig> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(id.chain.clone(), id.key.clone_key())?;
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    cfg.max_early_data_size = 0;
    Ok(cfg)
}
