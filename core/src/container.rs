/*!
The plaintext container inside the age payload: a tar stream, then zero padding up to the Padmé length.

A payload is either one **text** secret or any number of **files and folders**. Names, sizes and types live inside
the encrypted tar headers, so the relay learns only the padded size. Standard tools still work:
`age -d -i KEY payload | tar x` extracts everything, because tar stops at its end-of-archive blocks and the padding is
more zeros.

A text secret is a single regular entry `secret.txt` preceded by a pax header whose `comment` record is
[`TEXT_MARKER`]; tar implementations must ignore `comment`, so `tar x` simply yields `secret.txt`.

This module owns the container format, Padmé, and the rules for safe entry names. It does not touch the filesystem:
decoding hands entries to a [`Sink`] that the caller implements (the client writes files; tests collect in memory).
*/

use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read, Write};

use zeroize::Zeroizing;

/// The pax `comment` that marks a text secret.
pub const TEXT_MARKER: &str = "burnlink/v1 text";
/// The entry name of a text secret (what `tar x` produces).
pub const TEXT_NAME: &str = "secret.txt";
/// Largest text secret accepted when decoding; larger texts are sent as files.
pub const MAX_TEXT: u64 = 4 * 1024 * 1024;
/// Most entries in one container, bounding the duplicate-name set a hostile payload can grow.
pub const MAX_ENTRIES: usize = 100_000;
/// Longest entry name in bytes.
pub const MAX_PATH: usize = 4096;
/// Longest path component in bytes.
pub const MAX_COMPONENT: usize = 255;

/// Padmé (Nikitin et al., PETS 2019): round `len` up so that at most `floor(log2 log2 len) + 1` low bits are
/// significant. Leaks O(log log len) bits of the length at ≤ 12 % overhead.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros()); // floor(log2 len)
    let s = 64 - u64::from(e.leading_zeros()); // floor(log2 e) + 1
    let last_bits = e - s;
    let mask = (1u64 << last_bits) - 1;
    (len + mask) & !mask
}

/// A relative entry name that is safe to create under any output directory on any OS: `/`-separated, no empty,
/// `.` or `..` components, no absolute or drive prefix, no backslashes, control characters or NULs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SafePath(String);

/// Why an entry name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Empty name.
    #[error("empty entry name")]
    Empty,
    /// Too long in total or in one component.
    #[error("entry name too long")]
    TooLong,
    /// Absolute path, drive prefix, `..` or `.` component.
    #[error("entry name escapes the output folder")]
    Escapes,
    /// A character that is unsafe on some OS.
    #[error("entry name has a character that is not allowed")]
    BadCharacter,
}

impl SafePath {
    /// Validates a `/`-separated relative name.
    pub fn new(name: &str) -> Result<Self, PathError> {
        let name = name.strip_suffix('/').unwrap_or(name);
        if name.is_empty() {
            return Err(PathError::Empty);
        }
        if name.len() > MAX_PATH {
            return Err(PathError::TooLong);
        }
        if name.starts_with('/') || name.as_bytes().get(1) == Some(&b':') {
            return Err(PathError::Escapes);
        }
        for comp in name.split('/') {
            match comp {
                "" | "." | ".." => return Err(PathError::Escapes),
                c if c.len() > MAX_COMPONENT => return Err(PathError::TooLong),
                c if c.chars().any(|ch| ch.is_control() || matches!(ch, '\\' | ':')) => {
                    return Err(PathError::BadCharacter)
                }
                _ => {}
            }
        }
        Ok(Self(name.to_owned()))
    }

    /// The name, `/`-separated.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components, for joining onto an output directory.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The parent names of this entry, shortest first (`a`, `a/b` for `a/b/c`).
    fn ancestors(&self) -> impl Iterator<Item = &str> {
        self.0.match_indices('/').map(|(i, _)| &self.0[..i])
    }
}

impl fmt::Debug for SafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for SafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Counts bytes written, for the padding.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a container into `W` (normally an age stream writer). Call [`ContainerWriter::finish`] to write the end
/// of the archive and the padding.
pub struct ContainerWriter<W: Write> {
    tar: tar::Builder<Counting<W>>,
    entries: usize,
}

impl<W: Write> ContainerWriter<W> {
    /// Starts a container.
    pub fn new(out: W) -> Self {
        let mut tar = tar::Builder::new(Counting { inner: out, count: 0 });
        tar.mode(tar::HeaderMode::Deterministic);
        Self { tar, entries: 0 }
    }

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        // GNU headers: long names use the GNU long-name extension, which GNU tar, bsdtar and the tar crate read.
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(0); // No timestamps: they would tell the recipient when the sender last touched a file.
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    /// Adds a text secret. A container with a text secret holds nothing else.
    pub fn add_text(&mut self, text: &[u8]) -> io::Result<()> {
        if self.entries != 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a text secret must be the only entry"));
        }
        // pax record: "<len> comment=<marker>\n", where <len> counts the whole record including itself.
        let body = format!(" comment={TEXT_MARKER}\n");
        let mut len = body.len() + 1;
        while body.len() + len.to_string().len() != len {
            len = body.len() + len.to_string().len();
        }
        let record = format!("{len}{body}");
        debug_assert_eq!(record.len(), len);
        let mut x = Self::header(tar::EntryType::XHeader, record.len() as u64, 0o644);
        x.set_path("PaxHeaders/secret.txt")?;
        x.set_cksum();
        self.tar.append(&x, record.as_bytes())?;
        let mut h = Self::header(tar::EntryType::Regular, text.len() as u64, 0o600);
        self.tar.append_data(&mut h, TEXT_NAME, text)?;
        self.entries = usize::MAX; // nothing may follow
        Ok(())
    }

    fn count_entry(&mut self) -> io::Result<()> {
        if self.entries >= MAX_ENTRIES {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "too many entries for one link"));
        }
        self.entries += 1;
        Ok(())
    }

    /// Adds a folder.
    pub fn add_dir(&mut self, path: &SafePath) -> io::Result<()> {
        self.count_entry()?;
        let mut h = Self::header(tar::EntryType::Directory, 0, 0o755);
        self.tar.append_data(&mut h, format!("{path}/"), io::empty())
    }

    /// Adds a file of exactly `size` bytes read from `data`. Fails if `data` yields fewer bytes (the file shrank
    /// while being sent); extra bytes are not read.
    pub fn add_file(&mut self, path: &SafePath, size: u64, data: impl Read) -> io::Result<()> {
        self.count_entry()?;
        let mut h = Self::header(tar::EntryType::Regular, size, 0o644);
        // Read in large pieces: tar copies through `io::copy`, whose own 8 KiB reads cost a 1 GiB send ~0.4 s of
        // CPU in read calls (`io::copy` uses a `BufReader`'s buffer as it is).
        let exact = ExactReader { inner: data.take(size), left: size };
        let mut buffered = io::BufReader::with_capacity(FILE_READ.min(size.max(1) as usize), exact);
        self.tar.append_data(&mut h, path.as_str(), &mut buffered)?;
        Ok(())
    }

    /// Writes the end-of-archive blocks and the Padmé padding, and returns the inner writer (still to be finished
    /// by the caller, e.g. the age stream).
    pub fn finish(self) -> io::Result<W> {
        let mut counting = self.tar.into_inner()?;
        let target = padme(counting.count);
        let zeros = [0u8; 8192];
        let mut left = target - counting.count;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            counting.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        Ok(counting.inner)
    }
}

/// The read size for a file's content, and the size of the pieces [`decode`] hands a [`Sink`]: a sink that buffers
/// its writes in a buffer of this size passes them straight through.
pub const FILE_READ: usize = 256 * 1024;

/// A reader that errors if it ends before `left` bytes, so a file that shrank mid-send never yields a short entry.
struct ExactReader<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file changed size while it was being sent"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// What a decoded container held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Whether it was a text secret.
    pub text: bool,
    /// Number of files.
    pub files: u64,
    /// Number of folders.
    pub dirs: u64,
    /// Total file (or text) bytes.
    pub bytes: u64,
}

/// Receives the entries of a container as they are decoded. Nothing handed to a sink is trustworthy until
/// [`decode`] returns `Ok`: only then has the final age chunk been verified. A sink therefore stages what it
/// receives (temp files) and commits after `decode` succeeds.
pub trait Sink {
    /// A text secret (the only entry of its container).
    fn text(&mut self, text: Zeroizing<String>) -> io::Result<()>;
    /// A folder.
    fn dir(&mut self, path: &SafePath) -> io::Result<()>;
    /// A file of `size` bytes starts; its bytes follow through [`Sink::write`].
    fn begin_file(&mut self, path: &SafePath, size: u64) -> io::Result<()>;
    /// The next bytes of the current file.
    fn write(&mut self, data: &[u8]) -> io::Result<()>;
    /// The current file is complete.
    fn end_file(&mut self) -> io::Result<()>;
}

/// Why a container could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// Reading the (decrypted) stream failed: it is damaged or was cut off, or the source failed.
    #[error("reading the payload failed: {0}")]
    Read(#[source] io::Error),
    /// The sink failed (disk full, permission denied...).
    #[error("storing the payload failed: {0}")]
    Sink(#[source] io::Error),
    /// The container breaks a rule: unsafe name, unsupported entry type, duplicate name, non-zero padding.
    #[error("the payload is malformed: {0}")]
    Malformed(String),
}

fn malformed(what: impl Into<String>) -> ContainerError {
    ContainerError::Malformed(what.into())
}

/// Largest pax extended header accepted.
const MAX_PAX: u64 = 1 << 20;

/// Which header layout a block uses. Only the two our senders write are read; anything else is refused, so that no
/// reader falls back to guessing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    /// POSIX ustar (`ustar\0` `00`): the name may continue in the prefix field.
    Ustar,
    /// GNU (`ustar  \0`): no prefix field.
    Gnu,
}

fn format_of(h: &[u8; 512]) -> Result<Format, ContainerError> {
    match &h[257..265] {
        b"ustar\x0000" => Ok(Format::Ustar),
        b"ustar  \0" => Ok(Format::Gnu),
        _ => Err(malformed("unknown tar header format")),
    }
}

/// A NUL-terminated field.
fn field(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

/// The size field: octal digits (spaces around, NULs after), or GNU base-256 (`0x80` then big-endian, below 2^53 so
/// that the page reads the same number).
fn size_of(h: &[u8; 512]) -> Result<u64, ContainerError> {
    let f = &h[124..136];
    if f[0] & 0x80 != 0 {
        if f[0] != 0x80 {
            return Err(malformed("negative size"));
        }
        let v = f[1..].iter().fold(0u128, |a, &b| (a << 8) | u128::from(b));
        return u64::try_from(v).ok().filter(|&v| v < 1 << 53).ok_or_else(|| malformed("size too large"));
    }
    let s = std::str::from_utf8(field(f)).map_err(|_| malformed("bad size field"))?.trim_matches(' ');
    if !s.bytes().all(|c| c.is_ascii_digit() && c < b'8') {
        return Err(malformed("bad size field"));
    }
    if s.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(s, 8).ok().filter(|&v| v < 1 << 53).ok_or_else(|| malformed("size too large"))
}

/// The name in the header itself (ustar joins its prefix).
fn header_name(h: &[u8; 512], format: Format) -> Vec<u8> {
    let name = field(&h[..100]);
    let prefix = if format == Format::Ustar { field(&h[345..500]) } else { &[][..] };
    if prefix.is_empty() {
        name.to_vec()
    } else {
        [prefix, b"/", name].concat()
    }
}

/// What a pax extended header says about the next entry.
#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    comment: Option<Vec<u8>>,
}

/// Parses pax records strictly: `<decimal length> <key>=<value>\n`, each length exact, no bytes after the last record,
/// no key twice, and only keys whose meaning both readers apply alike: `path` and `comment`, and the times, which
/// change nothing here. Anything else (`size`, `linkpath`, `hdrcharset`, `GNU.sparse.*`...) could make another reader
/// show other content, so it is refused.
fn parse_pax(data: &[u8]) -> Result<Pax, ContainerError> {
    let mut pax = Pax::default();
    let mut seen = HashSet::new();
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest.iter().position(|&c| c == b' ').ok_or_else(|| malformed("bad pax record"))?;
        let digits = &rest[..sp];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 7 {
            return Err(malformed("bad pax record"));
        }
        let len: usize = std::str::from_utf8(digits).ok().and_then(|d| d.parse().ok()).unwrap_or(0);
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(malformed("bad pax record"));
        }
        let rec = &rest[sp + 1..len - 1];
        let eq = rec.iter().position(|&c| c == b'=').filter(|&n| n > 0).ok_or_else(|| malformed("bad pax record"))?;
        let (key, value) = (&rec[..eq], &rec[eq + 1..]);
        if !seen.insert(key) {
            return Err(malformed("a pax key appears twice"));
        }
        match key {
            b"path" => pax.path = Some(value.to_vec()),
            b"comment" => pax.comment = Some(value.to_vec()),
            b"mtime" | b"atime" | b"ctime" => {}
            other => {
                return Err(malformed(format!(
                    "unsupported pax record `{}`",
                    String::from_utf8_lossy(other).escape_debug()
                )))
            }
        }
        rest = &rest[len..];
    }
    Ok(pax)
}

/// Decodes a container from `input`, handing entries to `sink`, then reads `input` to its end so that the age
/// layer verifies the final chunk. Returns only after everything was read and checked.
///
/// The rules are strict and the same as the page's reader (`ui/src/container.ts`), so that a hostile sender cannot
/// show one thing in the browser and another here: only ustar and GNU headers; regular files, folders (without data),
/// one pax `x` header and/or one GNU `L` long name before an entry but never a name from both; pax records strictly
/// formed, with only `path`, `comment` and the times; the size from the header alone. Everything else is refused,
/// and `tests/vectors/containers.json` holds cases both readers must accept alike or refuse.
pub fn decode<R: Read>(input: R, sink: &mut dyn Sink) -> Result<Summary, ContainerError> {
    let mut archive = tar::Archive::new(input);
    let mut summary = Summary::default();
    let mut seen_files: HashSet<SafePath> = HashSet::new();
    let mut seen_dirs: HashSet<SafePath> = HashSet::new();
    let mut count = 0usize;
    {
        // Raw: the tar crate applies no extension header itself (it would honour a pax `size`, for one); the rules
        // below do.
        let entries = archive.entries().map_err(ContainerError::Read)?.raw(true);
        let mut pax: Option<Pax> = None;
        let mut long_name: Option<Vec<u8>> = None;
        for entry in entries {
            let mut entry = entry.map_err(ContainerError::Read)?;
            let h: [u8; 512] = *entry.header().as_bytes();
            let format = format_of(&h)?;
            let size = size_of(&h)?;
            if entry.header().entry_size().ok() != Some(size) {
                return Err(malformed("bad size field"));
            }
            match h[156] {
                b'x' => {
                    if pax.is_some() {
                        return Err(malformed("two pax headers for one entry"));
                    }
                    if size > MAX_PAX {
                        return Err(malformed("oversized extended header"));
                    }
                    let mut data = Vec::with_capacity(size as usize);
                    entry.read_to_end(&mut data).map_err(ContainerError::Read)?;
                    pax = Some(parse_pax(&data)?);
                    continue;
                }
                b'L' => {
                    if long_name.is_some() {
                        return Err(malformed("two long names for one entry"));
                    }
                    if size > MAX_PATH as u64 + 1 {
                        return Err(malformed("entry name too long"));
                    }
                    let mut data = Vec::with_capacity(size as usize);
                    entry.read_to_end(&mut data).map_err(ContainerError::Read)?;
                    long_name = Some(field(&data).to_vec());
                    continue;
                }
                b'0' | 0 | b'5' => {}
                other => return Err(malformed(format!("unsupported entry type {:?}", other as char))),
            }
            count += 1;
            if count > MAX_ENTRIES || summary.text {
                return Err(malformed("too many entries"));
            }
            let ext = pax.take().unwrap_or_default();
            let raw_name = match (ext.path, long_name.take()) {
                (Some(_), Some(_)) => return Err(malformed("two long names for one entry")),
                (Some(p), None) | (None, Some(p)) => p,
                (None, None) => header_name(&h, format),
            };
            let is_text = ext.comment.as_deref() == Some(TEXT_MARKER.as_bytes());
            let name = std::str::from_utf8(&raw_name).map_err(|_| malformed("entry name is not UTF-8"))?;
            let path = SafePath::new(name).map_err(|e| malformed(e.to_string()))?;
            match h[156] {
                b'5' => {
                    if size != 0 {
                        return Err(malformed("a folder with data"));
                    }
                    if seen_files.contains(&path) || path.ancestors().any(|a| seen_files.contains(a)) {
                        return Err(malformed(format!("`{path}` is both a file and a folder")));
                    }
                    if seen_dirs.insert(path.clone()) {
                        sink.dir(&path).map_err(ContainerError::Sink)?;
                        summary.dirs += 1;
                    }
                }
                _ if is_text => {
                    if count != 1 || size > MAX_TEXT {
                        return Err(malformed("text secret in an unexpected place"));
                    }
                    let mut buf = Zeroizing::new(Vec::with_capacity(size as usize));
                    entry.read_to_end(&mut buf).map_err(ContainerError::Read)?;
                    if buf.len() as u64 != size {
                        return Err(ContainerError::Read(io::ErrorKind::UnexpectedEof.into()));
                    }
                    let text = String::from_utf8(std::mem::take(&mut *buf))
                        .map_err(|_| malformed("text secret is not UTF-8"))?;
                    summary.text = true;
                    summary.bytes = size;
                    sink.text(Zeroizing::new(text)).map_err(ContainerError::Sink)?;
                }
                _ => {
                    check_new(&path, &seen_files, &seen_dirs)?;
                    sink.begin_file(&path, size).map_err(ContainerError::Sink)?;
                    // Whole pieces of FILE_READ go to the sink (see FILE_READ).
                    let mut buf = vec![0u8; FILE_READ];
                    let mut got = 0u64;
                    loop {
                        let n = crate::fill(&mut entry, &mut buf).map_err(ContainerError::Read)?;
                        if n == 0 {
                            break;
                        }
                        got += n as u64;
                        sink.write(&buf[..n]).map_err(ContainerError::Sink)?;
                    }
                    if got != size {
                        return Err(ContainerError::Read(io::ErrorKind::UnexpectedEof.into()));
                    }
                    sink.end_file().map_err(ContainerError::Sink)?;
                    summary.files += 1;
                    summary.bytes += size;
                    seen_files.insert(path);
                }
            }
        }
        if pax.is_some() || long_name.is_some() {
            return Err(malformed("an extended header without its entry"));
        }
    }
    // Everything after the archive must be zeros (the padding), and must be read: the last age chunk is verified
    // only when its end is reached.
    let mut rest = archive.into_inner();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = rest.read(&mut buf).map_err(ContainerError::Read)?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(malformed("data after the end of the archive"));
        }
    }
    if count == 0 {
        return Err(malformed("empty payload"));
    }
    Ok(summary)
}

impl std::borrow::Borrow<str> for SafePath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

fn check_new(path: &SafePath, files: &HashSet<SafePath>, dirs: &HashSet<SafePath>) -> Result<(), ContainerError> {
    if files.contains(path) || dirs.contains(path) {
        return Err(malformed(format!("`{path}` appears twice")));
    }
    if path.ancestors().any(|a| files.contains(a)) {
        return Err(malformed(format!("`{path}` is inside a file")));
    }
    Ok(())
}

/// A [`Sink`] that keeps everything in memory. For tests, fuzzing and small payloads.
#[derive(Default)]
pub struct MemorySink {
    /// The text secret, if any.
    pub text: Option<Zeroizing<String>>,
    /// Folders in order.
    pub dirs: Vec<SafePath>,
    /// Files in order with their bytes.
    pub files: Vec<(SafePath, Vec<u8>)>,
    /// Stop accepting file bytes past this many in total (fuzzing); `0` means no limit.
    pub limit: u64,
    total: u64,
}

impl std::fmt::Debug for MemorySink {
    /// Names and sizes only: never the text or the file bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySink")
            .field("text", &self.text.as_ref().map(|t| format!("<{} bytes redacted>", t.len())))
            .field("dirs", &self.dirs)
            .field("files", &self.files.iter().map(|(p, b)| (p, b.len())).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl MemorySink {
    /// A sink that refuses more than `limit` file bytes in total (fuzzing: bounded memory).
    pub fn with_limit(limit: u64) -> Self {
        Self { limit, ..Self::default() }
    }
}

impl Sink for MemorySink {
    fn text(&mut self, text: Zeroizing<String>) -> io::Result<()> {
        self.text = Some(text);
        Ok(())
    }
    fn dir(&mut self, path: &SafePath) -> io::Result<()> {
        self.dirs.push(path.clone());
        Ok(())
    }
    fn begin_file(&mut self, path: &SafePath, _size: u64) -> io::Result<()> {
        self.files.push((path.clone(), Vec::new()));
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.total += data.len() as u64;
        if self.limit != 0 && self.total > self.limit {
            return Err(io::Error::other("memory sink limit"));
        }
        self.files.last_mut().expect("begin_file first").1.extend_from_slice(data);
        Ok(())
    }
    fn end_file(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_sink_never_prints_its_secret() {
        let mut sink = MemorySink { text: Some(Zeroizing::new("hunter2-launch-code".into())), ..Default::default() };
        sink.files.push((SafePath::new("a.txt").unwrap(), b"file-bytes-secret".to_vec()));
        let shown = format!("{sink:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("file-bytes-secret"), "{shown}");
        assert!(shown.contains("a.txt"));
    }

    #[test]
    fn a_file_that_shrinks_while_it_is_read_fails_and_one_that_grows_is_cut_at_its_size() {
        let big = vec![7u8; 3 * FILE_READ + 11];
        let mut w = ContainerWriter::new(Vec::new());
        let err = w.add_file(&SafePath::new("shrank").unwrap(), big.len() as u64 + 1, &big[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let mut w = ContainerWriter::new(Vec::new());
        w.add_file(&SafePath::new("grew").unwrap(), big.len() as u64 - 5, &big[..]).unwrap();
        let mut sink = MemorySink::default();
        decode(&w.finish().unwrap()[..], &mut sink).unwrap();
        assert_eq!(sink.files[0].1.len(), big.len() - 5);
    }

    #[test]
    fn padme_matches_the_paper() {
        assert_eq!(padme(0), 0);
        assert_eq!(padme(1), 1);
        assert_eq!(padme(9), 10);
        assert_eq!(padme(1536), 1536);
        assert_eq!(padme(1537), 1600);
        for l in [2u64, 3, 100, 1000, 65_537, 1 << 20, 1_000_000_007, 1 << 40] {
            let p = padme(l);
            assert!(p >= l);
            assert!((p - l) as f64 <= l as f64 * 0.12 + 1.0, "{l} -> {p}");
            assert_eq!(padme(p), p, "idempotent at {l}");
        }
    }

    #[test]
    fn safe_path_rules() {
        for ok in ["a", "a/b", "a b/c.txt", "dir/", "ünïcødé/файл"] {
            SafePath::new(ok).unwrap();
        }
        for (bad, err) in [
            ("", PathError::Empty),
            ("/etc/passwd", PathError::Escapes),
            ("../x", PathError::Escapes),
            ("a/../../x", PathError::Escapes),
            ("a//b", PathError::Escapes),
            ("./a", PathError::Escapes),
            ("C:/x", PathError::Escapes),
            ("a\\..\\x", PathError::BadCharacter),
            ("a\nb", PathError::BadCharacter),
            ("a\0b", PathError::BadCharacter),
        ] {
            assert_eq!(SafePath::new(bad).unwrap_err(), err, "{bad:?}");
        }
        assert_eq!(SafePath::new(&"x".repeat(256)).unwrap_err(), PathError::TooLong);
    }

    fn roundtrip_files(files: &[(&str, &[u8])]) -> MemorySink {
        let mut w = ContainerWriter::new(Vec::new());
        for (name, data) in files {
            w.add_file(&SafePath::new(name).unwrap(), data.len() as u64, *data).unwrap();
        }
        let buf = w.finish().unwrap();
        assert_eq!(buf.len() as u64, padme(buf.len() as u64));
        let mut sink = MemorySink::default();
        decode(&buf[..], &mut sink).unwrap();
        sink
    }

    #[test]
    fn files_round_trip_with_long_names() {
        let long = format!("{}/{}", "d".repeat(200), "f".repeat(200));
        let sink = roundtrip_files(&[("a.txt", b"hello"), (&long, b""), ("b/c", &[7u8; 1000])]);
        assert_eq!(sink.files.len(), 3);
        assert_eq!(sink.files[1].0.as_str(), long);
        assert_eq!(sink.files[2].1, vec![7u8; 1000]);
    }

    #[test]
    fn text_round_trips_and_is_alone() {
        let mut w = ContainerWriter::new(Vec::new());
        w.add_text("sécret".as_bytes()).unwrap();
        assert!(w.add_dir(&SafePath::new("x").unwrap()).is_err());
        let buf = w.finish().unwrap();
        let mut sink = MemorySink::default();
        let s = decode(&buf[..], &mut sink).unwrap();
        assert!(s.text);
        assert_eq!(sink.text.unwrap().as_str(), "sécret");
    }

    #[test]
    fn shrinking_file_is_an_error() {
        let mut w = ContainerWriter::new(Vec::new());
        let err = w.add_file(&SafePath::new("a").unwrap(), 10, &b"short"[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    /// A hand-made archive with a given entry name and type, bypassing our writer's checks.
    fn raw_archive(entries: &[(&str, tar::EntryType, &[u8])], trailer: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            {
                let gnu = h.as_gnu_mut().unwrap();
                gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            }
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        let mut v = b.into_inner().unwrap();
        v.extend_from_slice(trailer);
        v
    }

    #[test]
    fn hostile_archives_are_refused() {
        use tar::EntryType as T;
        let cases: Vec<Vec<u8>> = vec![
            raw_archive(&[("../evil", T::Regular, b"x")], &[]),
            raw_archive(&[("/abs", T::Regular, b"x")], &[]),
            raw_archive(&[("link", T::Symlink, b"")], &[]),
            raw_archive(&[("hard", T::Link, b"")], &[]),
            raw_archive(&[("dev", T::Char, b"")], &[]),
            raw_archive(&[("a", T::Regular, b"1"), ("a", T::Regular, b"2")], &[]),
            raw_archive(&[("a", T::Regular, b"1"), ("a/b", T::Regular, b"2")], &[]),
            raw_archive(&[("a", T::Regular, b"1")], b"junk"),
            raw_archive(&[], &[]),
        ];
        for (i, buf) in cases.iter().enumerate() {
            let mut sink = MemorySink::default();
            let err = decode(&buf[..], &mut sink).unwrap_err();
            assert!(matches!(err, ContainerError::Malformed(_)), "case {i}: {err:?}");
        }
    }
}
