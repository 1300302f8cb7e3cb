//! The one error type every command returns: `{code, message, text, vars}`. The UI branches on `code`, never on
//! words, and says `text` in the person's language; `message` is the English sentence, for logs and for a UI that
//! lacks the text.

use std::collections::BTreeMap;

use serde::Serialize;

/// What the UI says about an error: the text `apperror.<key>` of ui/src/locales, filled with the error's `vars`.
/// One variant per sentence, so a test can check that every language has every one.
#[derive(Debug, Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // each variant is its sentence's key; the sentence is in ui/src/locales/en.json
pub enum Text {
    Gone,
    UploadFailed,
    Revoked,
    RequestClosed,
    AnswersGone,
    NotAnswered,
    NotRequester,
    WrongKey,
    /// `count`: attempts left.
    WrongPassphrase,
    WrongPassphraseLast,
    WrongPassphraseResume,
    PassphraseRequired,
    /// `detail`.
    Unreachable,
    /// `detail`.
    Tls,
    Busy,
    RelayFull,
    NotAllowed,
    /// `detail`.
    Relay,
    /// `detail`.
    Damaged,
    /// `detail`: the client library's own sentence about what was given.
    Input,
    /// `detail`.
    Io,
    /// `detail`.
    Keychain,
    HistoryUnreadable,
    NotInHistory,
    EntryDamaged,
    NoSuchAnswer,
    /// `path`.
    NotPicked,
    /// `path`.
    FolderNotPicked,
    /// `path`.
    NotAFolder,
    /// `paths`.
    FilesGone,
    NothingToSend,
    TextOrFiles,
    /// `detail`.
    NotALink,
    /// `detail`.
    NotARequestLink,
    /// `detail`.
    RelayAddress,
    NoClipboard,
}

impl Text {
    /// Every text, for the test that each language has it.
    pub const ALL: [Text; 36] = [
        Text::Gone,
        Text::UploadFailed,
        Text::Revoked,
        Text::RequestClosed,
        Text::AnswersGone,
        Text::NotAnswered,
        Text::NotRequester,
        Text::WrongKey,
        Text::WrongPassphrase,
        Text::WrongPassphraseLast,
        Text::WrongPassphraseResume,
        Text::PassphraseRequired,
        Text::Unreachable,
        Text::Tls,
        Text::Busy,
        Text::RelayFull,
        Text::NotAllowed,
        Text::Relay,
        Text::Damaged,
        Text::Input,
        Text::Io,
        Text::Keychain,
        Text::HistoryUnreadable,
        Text::NotInHistory,
        Text::EntryDamaged,
        Text::NoSuchAnswer,
        Text::NotPicked,
        Text::FolderNotPicked,
        Text::NotAFolder,
        Text::FilesGone,
        Text::NothingToSend,
        Text::TextOrFiles,
        Text::NotALink,
        Text::NotARequestLink,
        Text::RelayAddress,
        Text::NoClipboard,
    ];

    /// The key's last part, as serde writes it.
    pub fn key(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

/// A command's failure.
#[derive(Debug, Serialize, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CmdError {
    /// Stable code: `gone`, `wrong_key`, `wrong_passphrase`, `passphrase_required`, `unreachable`, `tls`, `relay`,
    /// `damaged`, `input`, `io`, `keychain`, `not_found`, `not_allowed` (a path the person did not pick).
    pub code: &'static str,
    /// One line for a person, in English.
    pub message: String,
    /// The same, as a text the UI translates.
    pub text: Text,
    /// What fills the text's placeholders: a number (`count`), a path, or a detail that only exists in English
    /// (the system's own words about a file or a certificate).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<&'static str, serde_json::Value>,
}

impl CmdError {
    /// An error with `code`, said as `text`.
    pub fn new(code: &'static str, text: Text, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), text, vars: BTreeMap::new() }
    }

    /// Bad input from the UI, said as `text`.
    pub fn input(text: Text, message: impl Into<String>) -> Self {
        Self::new("input", text, message)
    }

    /// Fills the text's placeholder `name`.
    pub fn with(mut self, name: &'static str, value: impl Into<serde_json::Value>) -> Self {
        self.vars.insert(name, value.into());
        self
    }

    /// Fills `detail` with the English message itself: the part no translation has.
    pub fn detailed(self) -> Self {
        let m = self.message.clone();
        self.with("detail", m)
    }
}

impl From<burnlink_client::Error> for CmdError {
    fn from(e: burnlink_client::Error) -> Self {
        use burnlink_client::Error as E;
        let text = match &e {
            E::Gone => Text::Gone,
            E::AnswersGone => Text::AnswersGone,
            E::UploadFailed => Text::UploadFailed,
            E::Revoked => Text::Revoked,
            E::RequestClosed => Text::RequestClosed,
            E::NotAnswered => Text::NotAnswered,
            E::NotRequester => Text::NotRequester,
            E::WrongKey => Text::WrongKey,
            E::WrongPassphrase { attempts_left: 0 } => Text::WrongPassphraseLast,
            E::WrongPassphrase { attempts_left } => {
                let n = *attempts_left;
                return Self::new(e.code(), Text::WrongPassphrase, e.to_string()).with("count", n);
            }
            E::WrongPassphraseOnResume => Text::WrongPassphraseResume,
            E::PassphraseRequired => Text::PassphraseRequired,
            E::Damaged(_) => Text::Damaged,
            E::Input(_) => Text::Input,
            E::Io(_) => Text::Io,
            _ => match e.code() {
                "unreachable" => Text::Unreachable,
                "tls" => Text::Tls,
                "busy" => Text::Busy,
                "relay_full" => Text::RelayFull,
                "not_allowed" => Text::NotAllowed,
                _ => Text::Relay,
            },
        };
        Self::new(e.code(), text, e.to_string()).detailed()
    }
}

impl From<burnlink_client::transport::TransportError> for CmdError {
    fn from(e: burnlink_client::transport::TransportError) -> Self {
        burnlink_client::Error::Relay(e).into()
    }
}

impl From<keyring::Error> for CmdError {
    fn from(e: keyring::Error) -> Self {
        Self::new("keychain", Text::Keychain, format!("the system keychain failed: {e}")).with("detail", e.to_string())
    }
}

impl From<std::io::Error> for CmdError {
    fn from(e: std::io::Error) -> Self {
        Self::new("io", Text::Io, e.to_string()).detailed()
    }
}

/// What commands return.
pub type CmdResult<T> = Result<T, CmdError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Each language of the UI says each error: a missing text would show the English sentence in its place.
    #[test]
    fn every_language_has_every_error_text_with_its_placeholders() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/locales");
        let en: BTreeMap<String, String> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("en.json")).unwrap()).unwrap();
        let mut languages = 0;
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let texts: BTreeMap<String, String> =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            languages += 1;
            for text in Text::ALL {
                let key = format!("apperror.{}", text.key());
                let found = texts.get(&key).or_else(|| texts.get(&format!("{key}_other")));
                assert!(found.is_some(), "{} lacks {key}", path.display());
            }
        }
        assert!(languages >= 5, "the five languages");
        // The placeholders the code fills are the ones the texts name.
        let says = |t: Text, var: &str| {
            let key = format!("apperror.{}", t.key());
            en.get(&key).or_else(|| en.get(&format!("{key}_other"))).unwrap().contains(&format!("{{{{{var}}}}}"))
        };
        assert!(says(Text::WrongPassphrase, "count"));
        for t in [Text::Tls, Text::Relay, Text::Damaged, Text::Input, Text::Io, Text::Keychain, Text::NotALink] {
            assert!(says(t, "detail"), "{t:?} shows its detail");
        }
        for t in [Text::NotPicked, Text::FolderNotPicked, Text::NotAFolder] {
            assert!(says(t, "path"), "{t:?} names the path");
        }
        assert!(says(Text::FilesGone, "paths"));
    }

    #[test]
    fn a_client_error_keeps_its_code_and_says_its_number() {
        let e: CmdError = burnlink_client::Error::WrongPassphrase { attempts_left: 2 }.into();
        assert_eq!((e.code, e.text), ("wrong_passphrase", Text::WrongPassphrase));
        assert_eq!(e.vars.get("count"), Some(&serde_json::json!(2)));
        let e: CmdError = burnlink_client::Error::WrongPassphrase { attempts_left: 0 }.into();
        assert_eq!(e.text, Text::WrongPassphraseLast);
        let json = serde_json::to_value(CmdError::from(burnlink_client::Error::Gone)).unwrap();
        assert_eq!(json["code"], "gone");
        assert_eq!(json["text"], "gone");
    }
}
