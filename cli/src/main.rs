//! `burnlink`: send and open one-time links from the command line. Flags, prompts, progress bars and exit codes
//! around `burnlink_client`.
// The `--help` text shows example links verbatim; rustdoc would want them as <links>.
#![allow(rustdoc::bare_urls)]

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use burnlink_client::open::{OpenOptions, Opened, Output};
use burnlink_client::send::{OnLink, Payload, SendOptions, Sent};
use burnlink_client::{Connector, Error, Progress, Trust};
use burnlink_core::keys::ManageToken;
use burnlink_core::link::{AnyLink, Link, LinkId, RelayOrigin, RequestLink};
use burnlink_core::policy::{Cidr, Rules, Template};
use burnlink_core::proto::{ClientKind, StatusReport};
use burnlink_core::secrecy::{ExposeSecret, SecretString};
use burnlink_core::state::{CreateError, Timestamp};
use burnlink_core::zeroize::Zeroizing;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const DEFAULT_RELAY: &str = "https://127.0.0.1:4433";

/// Send and open one-time, burn-after-reading links.
///
/// Everything is encrypted on this machine (age) to a key that exists only in the link's #fragment; the relay
/// stores ciphertext it cannot read and deletes it once the link is opened.
///
/// Examples:
///   echo 'the vault code is 0451' | burnlink send -
///   burnlink send --ttl 1h report.pdf photos/
///   burnlink open 'https://relay.example/o/ID#KEY' --out ~/Downloads
///   burnlink watch ID --manage TOKEN
///   burnlink request            (then, elsewhere: burnlink send --to 'REQUEST_LINK' -; here: burnlink open 'REQUEST_LINK')
///
/// Exit codes: 0 ok, 2 usage or malformed link, 3 link gone (opened, expired, revoked or unknown; a request that
/// takes no more answers, or whose answers were all opened),
/// 4 wrong key or passphrase (nothing burned), 5 relay unreachable or TLS failure, 6 not allowed (opened from outside
/// the link's network allowlist, nothing burned; or a policy the relay refuses), 7 a request nobody has answered
/// yet, 1 anything else.
#[derive(Parser, Debug)]
#[command(name = "burnlink", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Encrypt files, folders or a text secret to a new one-time link and print the link.
    Send(SendArgs),
    /// Open a one-time link: text goes to stdout, files into --out. The link burns.
    Open(OpenArgs),
    /// Show what is known about a link without opening it. Never burns.
    Peek(PeekArgs),
    /// Show the state of a link you sent (needs the manage token `send --json` printed).
    Status(ManageArgs),
    /// Revoke a link you sent so it can no longer be opened.
    Revoke(ManageArgs),
    /// Follow a link you sent: print its state as a JSON line now and at every change, until it ends.
    Watch(ManageArgs),
    /// Ask someone for a secret: print a request link that carries only a public key. Whoever opens it can answer
    /// (`burnlink send --to LINK`, the app or the browser); only this machine can open the answers
    /// (`burnlink open LINK`), each once.
    Request(RequestArgs),
    /// Print a shell completion script: e.g. `burnlink completions bash > ~/.local/share/bash-completion/completions/burnlink`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), as the packages install it.
    #[command(hide = true)]
    Man,
}

#[derive(Args, Debug)]
struct RequestArgs {
    /// Relay to keep the request on.
    #[arg(long, env = "BURNLINK_RELAY", default_value = DEFAULT_RELAY, value_name = "URL")]
    relay: String,
    #[command(flatten)]
    trust: Trusting,
    /// How long the request takes answers: 5m to 30d. Default 24h.
    #[arg(long, value_parser = parse_ttl)]
    ttl: Option<Duration>,
    /// How many answers it takes (each opens once).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=burnlink_core::proto::MAX_ANSWERS as i64))]
    answers: u8,
    /// Print {"link","id","expires_at","answers","manage_token"} as JSON instead of the link alone.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct Trusting {
    /// Trust this certificate (PEM) for the relay, e.g. a self-hosted relay's relay-cert.pem.
    #[arg(long, env = "BURNLINK_CA", value_name = "FILE")]
    ca: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct Passphrase {
    /// Read the passphrase from this file (one trailing newline is ignored).
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_env")]
    passphrase_file: Option<PathBuf>,
    /// Read the passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
}

#[derive(Args, Debug)]
struct SendArgs {
    /// Relay to store the link on.
    #[arg(long, env = "BURNLINK_RELAY", default_value = DEFAULT_RELAY, value_name = "URL")]
    relay: String,
    #[command(flatten)]
    trust: Trusting,
    /// How long the link lives unopened: 5m to 30d (e.g. 10m, 24h, 7d). Default 24h, or the policy's.
    #[arg(long, value_parser = parse_ttl)]
    ttl: Option<Duration>,
    /// Protect the link with a passphrase too; send the passphrase through another channel.
    #[command(flatten)]
    passphrase: Passphrase,
    /// Apply a policy template: ultra-secure (1h by default, at most 24h, and a passphrase: one is generated and
    /// printed unless you give one), standard (24h, at most 7d) or lightweight (7d, at most 30d).
    #[arg(long, value_name = "NAME")]
    policy: Option<Template>,
    /// Only recipients on these networks may open the link, as the relay sees their address (CIDR blocks such as
    /// 192.0.2.0/24 or 2001:db8::/32; repeat the flag or separate with commas). A refused try burns nothing.
    #[arg(long = "allow", value_name = "CIDR", value_delimiter = ',')]
    allow: Vec<Cidr>,
    /// Print {"link","id","expires_at","manage_token"} as JSON instead of the link alone (with "passphrase" when one
    /// was generated).
    #[arg(long)]
    json: bool,
    /// Make N independent one-time links for one upload, one per recipient, each with its own key, burning on its
    /// own (printed one per line once everything is stored; with --json, an array). The content is deleted when the
    /// last of them ends.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=burnlink_core::proto::MAX_RECIPIENTS as i64))]
    recipients: u8,
    /// Answer a request for a secret (a https://HOST/r/ID#age1… link, or `-` to read it from stdin when the secret
    /// comes from files): the secret is encrypted to the requester alone. Prints nothing to share.
    #[arg(long, value_name = "REQUEST_LINK", conflicts_with_all = ["policy", "allow", "recipients", "passphrase_file", "passphrase_env"])]
    to: Option<String>,
    /// Print the link only once the whole upload is stored. By default it is printed as soon as the relay accepts the
    /// first bytes, and a recipient can open it while the upload runs (keep this command running until it ends).
    #[arg(long)]
    wait: bool,
    /// Files and folders to send, or `-` (or nothing) for a text secret read from stdin.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct OpenArgs {
    /// The link (https://HOST/o/ID#KEY or burnlink://o/ID#KEY). Use `-` to read it from stdin, which keeps it out
    /// of the process list.
    link: String,
    #[command(flatten)]
    trust: Trusting,
    /// Folder for received files (never overwrites: `a.txt` becomes `a (1).txt`), or `-` for a single file to stdout.
    #[arg(long, default_value = ".", value_name = "DIR")]
    out: String,
    #[command(flatten)]
    passphrase: Passphrase,
    /// Relay for burnlink:// links, which do not name one.
    #[arg(long, env = "BURNLINK_RELAY", default_value = DEFAULT_RELAY, value_name = "URL")]
    relay: String,
    /// For a request link: wait until an answer comes (or the request ends) instead of exiting with status 7.
    #[arg(long)]
    wait: bool,
}

#[derive(Args, Debug)]
struct PeekArgs {
    /// The link, or `-` to read it from stdin.
    link: String,
    #[command(flatten)]
    trust: Trusting,
    /// Relay for burnlink:// links.
    #[arg(long, env = "BURNLINK_RELAY", default_value = DEFAULT_RELAY, value_name = "URL")]
    relay: String,
}

#[derive(Args, Debug)]
struct ManageArgs {
    /// The link id (the part after /o/). Ids and tokens are base64url and may begin with `-`.
    #[arg(allow_hyphen_values = true)]
    id: String,
    /// The manage token printed by `send --json`, or `-` to read it from stdin (which keeps it out of the process
    /// list).
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    manage: String,
    /// Relay the link lives on.
    #[arg(long, env = "BURNLINK_RELAY", default_value = DEFAULT_RELAY, value_name = "URL")]
    relay: String,
    #[command(flatten)]
    trust: Trusting,
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (use e.g. 10m, 24h, 7d)"))?;
    if !(burnlink_core::state::MIN_TTL..=burnlink_core::state::MAX_TTL).contains(&d) {
        return Err("expiry must be between 5m and 30d".into());
    }
    Ok(d)
}

/// A failure with its exit status.
struct Fail(i32, String);

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail(e.exit_code(), e.to_string())
    }
}
impl From<burnlink_client::transport::TransportError> for Fail {
    fn from(e: burnlink_client::transport::TransportError) -> Self {
        Error::Relay(e).into()
    }
}
impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail(1, e.to_string())
    }
}

fn usage(msg: impl Into<String>) -> Fail {
    Fail(2, msg.into())
}

fn main() -> ExitCode {
    burnlink_client::timing::start();
    let cli = Cli::parse();
    // A busy relay says how long to wait; the client waits (within a bound) and says so here.
    burnlink_client::transport::on_wait(|after| {
        eprintln!("burnlink: the relay is busy; trying again in {:.1} s", after.as_secs_f64());
    });
    // One thread: a text's round trips are faster without hops between threads. A large transfer drives QUIC on
    // threads of its own (see burnlink_client::transport), and seals, opens and writes files on blocking threads.
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("burnlink: {e}");
            return ExitCode::from(1);
        }
    };
    burnlink_client::timing::mark("runtime");
    let ran = rt.block_on(run(cli));
    burnlink_client::timing::mark("done");
    // Everything that mattered has finished and been flushed: exit without waiting for idle workers to wind down.
    rt.shutdown_background();
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("burnlink: {msg}");
            ExitCode::from(code as u8)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Fail> {
    match cli.cmd {
        Cmd::Send(a) => send(a).await,
        Cmd::Open(a) => open(a).await,
        Cmd::Peek(a) => peek(a).await,
        Cmd::Status(a) => manage(a, Manage::Status).await,
        Cmd::Revoke(a) => manage(a, Manage::Revoke).await,
        Cmd::Watch(a) => manage(a, Manage::Watch).await,
        Cmd::Request(a) => request(a).await,
        Cmd::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "burnlink",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Cmd::Man => {
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
    }
}

fn trust(t: &Trusting) -> Result<Trust, Fail> {
    match &t.ca {
        Some(p) => Trust::from_pem_file(p).map_err(|e| Fail(5, e.to_string())),
        None => Ok(Trust::WebPki),
    }
}

fn origin(url: &str) -> Result<RelayOrigin, Fail> {
    RelayOrigin::parse(url).map_err(|e| usage(format!("--relay: {e}")))
}

fn read_passphrase(p: &Passphrase) -> Result<Option<SecretString>, Fail> {
    let raw = if let Some(f) = &p.passphrase_file {
        let mut s = Zeroizing::new(std::fs::read_to_string(f).map_err(|e| usage(format!("{}: {e}", f.display())))?);
        strip_newline(&mut s);
        s
    } else if let Some(var) = &p.passphrase_env {
        Zeroizing::new(std::env::var(var).map_err(|_| usage(format!("environment variable {var} is not set")))?)
    } else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Err(usage("the passphrase is empty"));
    }
    Ok(Some(SecretString::from(raw.to_string())))
}

fn strip_newline(s: &mut String) {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
}

/// A progress bar on stderr that appears only if the work takes more than a second, and never when stderr is not a
/// terminal.
fn progress_bar(what: &'static str) -> (Progress, ProgressBar) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{msg:9} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what);
    if std::io::stderr().is_terminal() {
        let b = bar.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if !b.is_finished() {
                b.set_draw_target(ProgressDrawTarget::stderr());
            }
        });
    }
    let b = bar.clone();
    let progress: Progress = Arc::new(move |done, total| {
        b.set_length(total);
        b.set_position(done);
    });
    (progress, bar)
}

fn rfc3339(t: Timestamp) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(t.0)).to_string()
}

async fn send(a: SendArgs) -> Result<(), Fail> {
    let origin = origin(&a.relay)?;
    let trust = trust(&a.trust)?;
    let mut passphrase = read_passphrase(&a.passphrase)?;
    let ttl = a.ttl.or(a.policy.map(Template::default_ttl)).unwrap_or(burnlink_core::state::DEFAULT_TTL);
    if let Some(t) = a.policy {
        if ttl > t.max_ttl() {
            return Err(usage(CreateError::PolicyTtl(t).to_string()));
        }
    }
    // A template that requires a passphrase gets a generated one unless the sender gave their own.
    let generated = match a.policy {
        Some(t) if t.passphrase_required() && passphrase.is_none() => {
            let p = burnlink_core::policy::generate_passphrase(&mut rand::rngs::OsRng);
            passphrase = Some(p.clone());
            Some(p)
        }
        _ => None,
    };
    let answer = match &a.to {
        Some(to) => {
            let text = arg_or_stdin(to, "request link")?;
            let link = RequestLink::parse(&text).map_err(|e| usage(format!("--to: not a request link: {e}")))?;
            Some(link)
        }
        None => None,
    };
    // An answer goes to the relay that holds the request.
    let origin = match answer.as_ref().and_then(|l| l.relay.clone()) {
        Some(o) => o,
        None => origin,
    };
    let text_mode = a.paths.is_empty() || (a.paths.len() == 1 && a.paths[0].as_os_str() == "-");
    if text_mode && a.to.as_deref() == Some("-") {
        return Err(usage("--to - reads the request link from stdin, so the secret must come from files"));
    }
    let payload = if text_mode {
        let mut text = Zeroizing::new(String::new());
        if std::io::stdin().is_terminal() {
            let typed = rpassword::prompt_password("Secret (hidden): ")?;
            text.push_str(&typed);
        } else {
            std::io::stdin().read_to_string(&mut text).map_err(|e| usage(format!("reading stdin: {e}")))?;
            strip_newline(&mut text);
        }
        Payload::Text(text)
    } else {
        if a.paths.iter().any(|p| p.as_os_str() == "-") {
            return Err(usage("`-` (text from stdin) cannot be mixed with files"));
        }
        Payload::Paths(a.paths.clone())
    };
    payload.check()?;
    let connector = Connector { origin: origin.clone(), trust };
    let client = if text_mode { connector.connect().await? } else { connector.connect_bulk().await? };
    let (progress, bar) = progress_bar("uploading");
    let printed = Arc::new(std::sync::Mutex::new(None::<std::io::Result<()>>));
    let answering = answer.is_some();
    let live: Option<OnLink> = (!a.wait && !answering).then(|| {
        let (printed, json, bar, generated) = (printed.clone(), a.json, bar.clone(), generated.clone());
        Arc::new(move |sent: &Sent| {
            let shown = bar.suspend(|| print_sent(sent, json, true, generated.as_ref()));
            *printed.lock().expect("not poisoned") = Some(shown);
        }) as OnLink
    });
    let rules = Rules { policy: a.policy, allow: a.allow.clone() };
    let opts = SendOptions { ttl, passphrase, rules, recipients: a.recipients.into(), answer, live };
    let sent = burnlink_client::send::send(&client, &origin, payload, opts, progress).await;
    bar.finish_and_clear();
    // Closed on every path: a connection left to time out keeps a slot of this address's limit at the relay.
    client.close().await;
    let early = printed.lock().expect("not poisoned").take();
    let sent = match sent {
        Ok(s) => s,
        Err(e) if early.is_some() => {
            // The link is out already: say plainly that it will not open.
            eprintln!("burnlink: upload failed; the link printed above will not open");
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    for s in &sent.skipped {
        eprintln!("burnlink: skipped {} (not a regular file or folder)", s.display());
    }
    if answering {
        return print_answered(&sent, a.json);
    }
    match early {
        Some(shown) => shown?,
        None => print_sent(&sent, a.json, false, generated.as_ref())?,
    }
    Ok(())
}

/// After answering a request there is no link to share: say so, or give the answer's id and manage token (its
/// status shows when the requester opened it).
fn print_answered(sent: &Sent, json: bool) -> Result<(), Fail> {
    if json {
        let v = serde_json::json!({
            "answered": sent.link.as_str(),
            "id": sent.id.to_string(),
            "expires_at": rfc3339(sent.expires_at),
            "manage_token": sent.manage.to_text().as_str(),
        });
        println!("{v}");
    } else {
        eprintln!("burnlink: answered; only the requester can open it, once, until {}", rfc3339(sent.expires_at));
    }
    Ok(())
}

async fn request(a: RequestArgs) -> Result<(), Fail> {
    let connector = Connector { origin: origin(&a.relay)?, trust: trust(&a.trust)? };
    let ttl = a.ttl.unwrap_or(burnlink_core::state::DEFAULT_TTL);
    let asked = burnlink_client::request::ask(&connector, ttl, a.answers).await?;
    // Kept before the link is shown: an answer nobody can open would be worse than no request.
    let state_dir = burnlink_client::resume::default_state_dir();
    burnlink_client::request::KeptRequests::new(&state_dir)
        .save(&asked)
        .map_err(|e| Fail(1, format!("keeping the request's key in {}: {e}", state_dir.display())))?;
    let link = asked.link.to_https(&asked.relay);
    if a.json {
        let v = serde_json::json!({
            "link": link,
            "id": asked.link.id.to_string(),
            "expires_at": rfc3339(asked.expires_at),
            "answers": a.answers,
            "manage_token": asked.manage.to_text().as_str(),
        });
        println!("{v}");
    } else {
        println!("{link}");
        if std::io::stderr().is_terminal() {
            eprintln!(
                "Send this link to whoever should answer; it reveals nothing. Open the answer here with `burnlink open LINK` (until {}).",
                rfc3339(asked.expires_at)
            );
        }
    }
    Ok(())
}

/// The link on stdout (flushed: a script may be waiting for it while the upload runs), or its JSON; several
/// recipients' links one per line, or a JSON array. A generated passphrase goes into the JSON, or else to stderr
/// beside the link, for the sender to pass on by another channel.
fn print_sent(sent: &Sent, json: bool, uploading: bool, generated: Option<&SecretString>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let links = std::iter::once((sent.link.as_str(), sent.id, &sent.manage))
        .chain(sent.more.iter().map(|m| (m.link.as_str(), m.id, &m.manage)));
    if json {
        let mut all: Vec<_> = links
            .map(|(link, id, manage)| {
                let mut v = serde_json::json!({
                    "link": link,
                    "id": id.to_string(),
                    "expires_at": rfc3339(sent.expires_at),
                    "manage_token": manage.to_text().as_str(),
                });
                if let Some(p) = generated {
                    v["passphrase"] = p.expose_secret().into();
                }
                v
            })
            .collect();
        let v = if sent.more.is_empty() { all.remove(0) } else { serde_json::Value::Array(all) };
        writeln!(out, "{v}")?;
    } else {
        for (link, ..) in links {
            writeln!(out, "{link}")?;
        }
        if let Some(p) = generated {
            eprintln!("Passphrase (send it by another channel than the link): {}", p.expose_secret());
        }
    }
    out.flush()?;
    if !json && std::io::stderr().is_terminal() {
        eprintln!("This link opens once and expires {}.", rfc3339(sent.expires_at));
        if uploading {
            eprintln!("It can be opened now; keep this running until the upload is done.");
        }
    }
    Ok(())
}

/// `arg`, or stdin when it is `-` (which keeps a secret out of the process list).
fn arg_or_stdin(arg: &str, what: &str) -> Result<Zeroizing<String>, Fail> {
    if arg != "-" {
        return Ok(Zeroizing::new(arg.to_owned()));
    }
    let mut s = Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut s).map_err(|e| usage(format!("reading the {what} from stdin: {e}")))?;
    Ok(s)
}

fn read_link(arg: &str, relay: &str) -> Result<(Link, RelayOrigin), Fail> {
    let text = arg_or_stdin(arg, "link")?;
    let link = Link::parse(&text).map_err(|e| usage(format!("not a valid Burnlink link: {e}")))?;
    let origin = match &link.relay {
        Some(o) => o.clone(),
        None => origin(relay)?,
    };
    Ok((link, origin))
}

async fn open(a: OpenArgs) -> Result<(), Fail> {
    let text = arg_or_stdin(&a.link, "link")?;
    let (link, origin) = match AnyLink::parse(&text) {
        Ok(AnyLink::Request(r)) => return open_answer(&a, r).await,
        Ok(AnyLink::Open(link)) => {
            let origin = match &link.relay {
                Some(o) => o.clone(),
                None => origin(&a.relay)?,
            };
            (link, origin)
        }
        Err(e) => return Err(usage(format!("not a valid Burnlink link: {e}"))),
    };
    let trust = trust(&a.trust)?;
    let mut passphrase = read_passphrase(&a.passphrase)?;
    let out = output(&a.out)?;
    let connector = Connector { origin, trust };
    let state_dir = burnlink_client::resume::default_state_dir();
    loop {
        let (progress, bar) = progress_bar("receiving");
        let opts = OpenOptions {
            out: out.clone(),
            passphrase: passphrase.clone(),
            state_dir: state_dir.clone(),
            client: ClientKind::Cli,
        };
        let r = burnlink_client::open::open(&connector, &link, opts, progress).await;
        bar.finish_and_clear();
        match r {
            Ok(opened) => return show(opened),
            // Ask on a terminal; a script gets exit status 4.
            Err(Error::PassphraseRequired | Error::WrongPassphrase { .. } | Error::WrongPassphraseOnResume)
                if passphrase.is_none() && std::io::stdin().is_terminal() =>
            {
                passphrase = Some(SecretString::from(rpassword::prompt_password("Passphrase: ")?));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// What a link held: a text on stdout, files listed on stderr.
fn show(opened: Opened) -> Result<(), Fail> {
    match opened {
        Opened::Text(t) => {
            let mut o = std::io::stdout().lock();
            o.write_all(t.as_bytes())?;
            if !t.ends_with('\n') && std::io::stdout().is_terminal() {
                o.write_all(b"\n")?;
            }
        }
        Opened::Files { saved, summary } => {
            eprintln!("burnlink: received {} file(s), {} bytes:", summary.files, summary.bytes);
            for p in saved {
                eprintln!("  {}", p.display());
            }
        }
        Opened::Stdout { .. } => {}
    }
    Ok(())
}

/// `--out`: a folder, or `-` for stdout.
fn output(out: &str) -> Result<Output, Fail> {
    if out == "-" {
        return Ok(Output::Stdout);
    }
    let dir = PathBuf::from(out);
    if !dir.is_dir() {
        return Err(usage(format!("--out {}: not a folder", dir.display())));
    }
    Ok(Output::Dir(dir))
}

/// `open REQUEST_LINK` on the requester's machine: the oldest answer not opened yet, once.
async fn open_answer(a: &OpenArgs, link: RequestLink) -> Result<(), Fail> {
    let state_dir = burnlink_client::resume::default_state_dir();
    let Some(kept) = burnlink_client::request::KeptRequests::new(&state_dir).load(&link.id)? else {
        return Err(Error::NotRequester.into());
    };
    let origin = link.relay.clone().unwrap_or(kept.relay);
    let connector = Connector { origin, trust: trust(&a.trust)? };
    let opts = OpenOptions { out: output(&a.out)?, passphrase: None, state_dir, client: ClientKind::Cli };
    let (progress, bar) = progress_bar("receiving");
    let r = burnlink_client::request::open_answer(&connector, link.id, &kept.secret, opts, a.wait, progress).await;
    bar.finish_and_clear();
    show(r?)
}

async fn peek(a: PeekArgs) -> Result<(), Fail> {
    let (link, origin) = read_link(&a.link, &a.relay)?;
    let connector = Connector { origin, trust: trust(&a.trust)? };
    let info = burnlink_client::open::peek(&connector, &link).await?;
    let v = serde_json::json!({
        "id": link.id.to_string(),
        "state": "fresh",
        "size": info.size,
        "expires_at": rfc3339(info.expires_at),
        "passphrase": info.meta.kdf.is_some(),
        "key_matches": info.meta.check.matches(&link.secret),
    });
    println!("{v}");
    Ok(())
}

enum Manage {
    Status,
    Revoke,
    Watch,
}

async fn manage(a: ManageArgs, what: Manage) -> Result<(), Fail> {
    use burnlink_client::manage;
    let id: LinkId = a.id.trim().parse().map_err(|e| usage(format!("not a link id: {e}")))?;
    let token = ManageToken::from_text(&arg_or_stdin(&a.manage, "manage token")?)
        .ok_or_else(|| usage("--manage: not a manage token"))?;
    let connector = Connector { origin: origin(&a.relay)?, trust: trust(&a.trust)? };
    let report = match what {
        Manage::Status => manage::status(&connector, id, &token).await?,
        Manage::Revoke => manage::revoke(&connector, id, &token).await?,
        Manage::Watch => {
            let mut out = std::io::stdout();
            let print = |r: &StatusReport| match writeln!(out, "{}", r.to_json(&id, rfc3339)).and_then(|()| out.flush())
            {
                Ok(()) => std::ops::ControlFlow::Continue(()),
                Err(_) => std::ops::ControlFlow::Break(()), // nobody reads any more
            };
            manage::watch(&connector, id, &token, print).await?;
            return Ok(());
        }
    };
    println!("{}", report.to_json(&id, rfc3339));
    Ok(())
}
