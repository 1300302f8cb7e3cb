//! Which relay the app talks to and whom it trusts, kept as `settings.json` in the app's config folder. Without a
//! file, `BURNLINK_RELAY` / `BURNLINK_CA` or the local relay that `scripts/run` starts are the defaults.

use std::path::{Path, PathBuf};

use burnlink_client::{Connector, Trust};
use burnlink_core::link::RelayOrigin;
use serde::{Deserialize, Serialize};

use crate::error::{CmdError, CmdResult, Text};

/// The relay the local `scripts/run` starts.
pub const LOCAL_RELAY: &str = "https://127.0.0.1:4433";

/// The app's settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Settings {
    /// Relay base URL.
    pub relay_url: String,
    /// PEM file of the certificate to trust for a self-hosted relay; `None` trusts the public web PKI.
    pub ca_path: Option<String>,
    /// Seconds after which a link the app copied is cleared from the clipboard (if it is still there); 0 never.
    #[serde(default = "default_link_clear_secs")]
    pub link_clear_secs: u64,
}

/// Long enough to paste a new link into a message, short enough that it does not linger.
pub const DEFAULT_LINK_CLEAR_SECS: u64 = 120;

fn default_link_clear_secs() -> u64 {
    DEFAULT_LINK_CLEAR_SECS
}

impl Settings {
    /// Defaults from the environment, else the local relay (and its certificate, if it has made one).
    pub fn defaults() -> Self {
        let relay_url = std::env::var("BURNLINK_RELAY").unwrap_or_else(|_| LOCAL_RELAY.into());
        let ca_path = std::env::var("BURNLINK_CA").ok().or_else(|| {
            let local = dirs_home().join(".local/share/burnlink-relay/relay-cert.pem");
            local.is_file().then(|| local.display().to_string())
        });
        Self { relay_url, ca_path, link_clear_secs: DEFAULT_LINK_CLEAR_SECS }
    }

    /// Settings that only say how to reach a relay (a history entry's).
    pub fn for_relay(relay_url: String, ca_path: Option<String>) -> Self {
        Self { relay_url, ca_path, link_clear_secs: DEFAULT_LINK_CLEAR_SECS }
    }

    /// Reads `settings.json` from `dir`, or the defaults.
    pub fn load(dir: &Path) -> Self {
        std::fs::read(dir.join("settings.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(Self::defaults)
    }

    /// Checks the settings and writes them to `dir`.
    pub fn save(&self, dir: &Path) -> CmdResult<()> {
        self.connector()?;
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join("settings.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self).expect("settings serialize"))?;
        std::fs::rename(tmp, dir.join("settings.json"))?;
        Ok(())
    }

    /// How to reach the relay.
    pub fn connector(&self) -> CmdResult<Connector> {
        let origin = RelayOrigin::parse(self.relay_url.trim()).map_err(|e| {
            CmdError::input(Text::RelayAddress, format!("relay address: {e}")).with("detail", e.to_string())
        })?;
        let trust = match self.ca_path.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(p) => Trust::from_pem_file(Path::new(p))
                .map_err(|e| CmdError::new("tls", Text::Tls, e.to_string()).detailed())?,
            None => Trust::WebPki,
        };
        Ok(Connector { origin, trust })
    }
}

fn dirs_home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_checks_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let bad = Settings::for_relay("ftp://nope".into(), None);
        assert_eq!(bad.save(dir.path()).unwrap_err().code, "input");
        let missing_ca = Settings::for_relay(LOCAL_RELAY.into(), Some("/no/such.pem".into()));
        assert_eq!(missing_ca.save(dir.path()).unwrap_err().code, "tls");
        let good = Settings { link_clear_secs: 30, ..Settings::for_relay("https://relay.example:8443".into(), None) };
        good.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()), good);
        // A settings file from before the clipboard setting gets its default.
        std::fs::write(dir.path().join("settings.json"), r#"{"relay_url":"https://r.example","ca_path":null}"#)
            .unwrap();
        assert_eq!(Settings::load(dir.path()).link_clear_secs, DEFAULT_LINK_CLEAR_SECS);
    }
}
