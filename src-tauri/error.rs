//! The one error type every command returns: `{code, message}`, so the UI branches on `code`, never on text.

use serde::Serialize;

/// A command's failure.
#[derive(Debug, Serialize, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CmdError {
    /// Stable code: `gone`, `wrong_key`, `wrong_passphrase`, `passphrase_required`, `unreachable`, `tls`, `relay`,
    /// `damaged`, `input`, `io`, `keychain`, `not_found`, `not_allowed` (a path the person did not pick).
    pub code: &'static str,
    /// One line for a person.
    pub message: String,
}

impl CmdError {
    /// An error with `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// Bad input from the UI.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new("input", message)
    }
}

impl From<burnlink_client::Error> for CmdError {
    fn from(e: burnlink_client::Error) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<burnlink_client::transport::TransportError> for CmdError {
    fn from(e: burnlink_client::transport::TransportError) -> Self {
        burnlink_client::Error::Relay(e).into()
    }
}

impl From<keyring::Error> for CmdError {
    fn from(e: keyring::Error) -> Self {
        Self::new("keychain", format!("the system keychain failed: {e}"))
    }
}

impl From<std::io::Error> for CmdError {
    fn from(e: std::io::Error) -> Self {
        Self::new("io", e.to_string())
    }
}

/// What commands return.
pub type CmdResult<T> = Result<T, CmdError>;
