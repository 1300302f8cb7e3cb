//! The errors of the send and open flows, with the stable codes the CLI turns into exit statuses and the app into
//! `{code, message}`.

use crate::transport::TransportError;

/// What went wrong sending or opening a link.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The link is unknown, already opened, expired or revoked (one neutral answer).
    #[error("this link is gone: it was already opened, expired, was revoked, or never existed")]
    Gone,
    /// The sender's live upload stopped before it finished, while this recipient was downloading it. The link is
    /// gone; nothing was saved.
    #[error("the sender's upload did not finish; nothing was saved (ask the sender to send it again)")]
    UploadFailed,
    /// The sender revoked the link while this recipient was downloading it. Its content is deleted at the relay, and
    /// nothing was saved here.
    #[error("the sender revoked this link during the download; nothing was saved")]
    Revoked,
    /// An answer to a request that takes no more: it was answered already, expired, was revoked, or never existed.
    #[error("this request takes no more answers: it was answered already, expired, was revoked, or never existed")]
    RequestClosed,
    /// Every answer to the request has been opened, or it ended (expired, revoked, unknown) without one.
    #[error("this request has nothing left to open: its answers were opened already, or it ended without one")]
    AnswersGone,
    /// The requester opened its request before anyone answered it.
    #[error("nobody has answered this request yet (add --wait to wait for the answer)")]
    NotAnswered,
    /// A request link opened on a machine that does not hold the request's key.
    #[error("this request was not made here, so its answers cannot be opened here; to answer it, use `burnlink send --to LINK`")]
    NotRequester,
    /// The link's key does not match (damaged or incomplete link). Nothing was burned.
    #[error("the link's key does not match this link (was it copied completely?); nothing was burned")]
    WrongKey,
    /// The passphrase is wrong. Nothing was burned, unless no attempts are left.
    #[error("{}", wrong_passphrase(*.attempts_left))]
    WrongPassphrase {
        /// Attempts left before the relay burns the link.
        attempts_left: u8,
    },
    /// The passphrase given to resume an interrupted download is wrong. The download and its lease are kept.
    #[error("wrong passphrase; the interrupted download is kept and resumes with the right one")]
    WrongPassphraseOnResume,
    /// The link needs a passphrase and none was given.
    #[error("this link needs a passphrase (give it with --passphrase-file or --passphrase-env)")]
    PassphraseRequired,
    /// The relay could not be reached or its certificate was not trusted.
    #[error(transparent)]
    Relay(#[from] TransportError),
    /// The payload failed to decrypt or verify, or breaks the container rules.
    #[error("the payload is damaged: {0}")]
    Damaged(String),
    /// Bad input (paths, sizes, options).
    #[error("{0}")]
    Input(String),
    /// A local file operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn wrong_passphrase(left: u8) -> String {
    match left {
        0 => "wrong passphrase; that was the last attempt and the relay destroyed the link".into(),
        1 => "wrong passphrase; nothing was burned, 1 attempt left before the link is destroyed".into(),
        n => format!("wrong passphrase; nothing was burned, {n} attempts left before the link is destroyed"),
    }
}

impl Error {
    /// A stable machine-readable code: `gone`, `upload_failed`, `revoked`, `request_closed`, `not_answered`,
    /// `not_requester`, `wrong_key`, `wrong_passphrase`,
    /// `passphrase_required`, `unreachable`, `tls`, `busy`, `relay_full`, `not_allowed`, `relay`, `damaged`, `input`,
    /// `io`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Gone | Error::AnswersGone => "gone",
            Error::RequestClosed => "request_closed",
            Error::NotAnswered => "not_answered",
            Error::NotRequester => "not_requester",
            Error::UploadFailed => "upload_failed",
            Error::Revoked => "revoked",
            Error::WrongKey => "wrong_key",
            Error::WrongPassphrase { .. } | Error::WrongPassphraseOnResume => "wrong_passphrase",
            Error::PassphraseRequired => "passphrase_required",
            Error::Relay(TransportError::Unreachable { .. }) | Error::Relay(TransportError::ConnectionLost(_)) => {
                "unreachable"
            }
            Error::Relay(TransportError::Tls { .. }) => "tls",
            Error::Relay(TransportError::RetryAfter(_)) => "busy",
            Error::Relay(TransportError::Relay { code: burnlink_core::proto::ErrorCode::Full, .. }) => "relay_full",
            Error::Relay(TransportError::Relay { code: burnlink_core::proto::ErrorCode::NotAllowed, .. }) => {
                "not_allowed"
            }
            Error::Relay(_) => "relay",
            Error::Damaged(_) => "damaged",
            Error::Input(_) => "input",
            Error::Io(_) => "io",
        }
    }

    /// The CLI's exit status (DESIGN §4): 3 gone (an upload that did not finish, or a revoke during the download,
    /// leaves the link gone too), 6 not allowed (a claim from outside the link's network allowlist, which burned
    /// nothing, or a policy the relay does not accept), 4 wrong key
    /// or passphrase, 5 relay unreachable or TLS, 7 a request not answered yet, 1 other.
    pub fn exit_code(&self) -> i32 {
        match self.code() {
            "gone" | "upload_failed" | "revoked" | "request_closed" => 3,
            "not_answered" => 7,
            "not_requester" => 2,
            "wrong_key" | "wrong_passphrase" | "passphrase_required" => 4,
            "unreachable" | "tls" => 5,
            "not_allowed" => 6,
            "input" => 2,
            _ => 1,
        }
    }
}
