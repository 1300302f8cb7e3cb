/*!
Opening sealed content as it streams in from wherever a backend keeps it (table rows, an object), so every backend
serves a download the same way: re-cut into sealed chunks, opened one by one, from any offset.
*/

use std::io;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use super::seal::{self, Opener};
use super::BlobStream;

/// Where a download from plaintext byte `offset` starts: the sealed chunk that holds it and the bytes to skip in it.
pub fn start(offset: u64) -> (u64, usize) {
    (offset / seal::CHUNK as u64, (offset % seal::CHUNK as u64) as usize)
}

/// A sealed byte stream being opened.
struct Opening {
    sealed: Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
    opener: Opener,
    index: u64,
    skip: usize,
    buf: BytesMut,
    done: bool,
}

impl Opening {
    /// Opens whole sealed chunks (and, at the end, the short last one) into content.
    fn open(&mut self, sealed: &[u8]) -> io::Result<Bytes> {
        let Ok(plain) = self.opener.open_run(self.index, self.skip, sealed.to_vec()) else {
            self.done = true;
            return Err(io::Error::other("stored content failed to authenticate"));
        };
        self.index += sealed.len().div_ceil(seal::SEALED_CHUNK) as u64;
        self.skip = 0;
        Ok(Bytes::from(plain))
    }

    async fn next(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            if self.done {
                return None;
            }
            // Serve what is buffered in steps of a few chunks, so a large read never doubles in memory.
            let whole = (self.buf.len() / seal::SEALED_CHUNK).min(4) * seal::SEALED_CHUNK;
            if whole > 0 {
                let sealed = self.buf.split_to(whole);
                return Some(self.open(&sealed));
            }
            match self.sealed.next().await {
                Some(Ok(b)) => self.buf.extend_from_slice(&b),
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    if self.buf.is_empty() {
                        return None;
                    }
                    let last = self.buf.split();
                    return Some(self.open(&last));
                }
            }
        }
    }
}

/// Opens `sealed`, a stream of sealed bytes that begins at the start of chunk `first`, into the content from `skip`
/// bytes into that chunk. A chunk that fails to authenticate ends the stream with an error, never with wrong bytes.
pub fn open_stream<S>(sealed: S, opener: Opener, first: u64, skip: usize) -> BlobStream
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    let st = Opening { sealed: Box::pin(sealed), opener, index: first, skip, buf: BytesMut::new(), done: false };
    Box::pin(futures_util::stream::unfold(st, |mut st| async move {
        let item = st.next().await?;
        Some((item, st))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::seal::{Sealer, StorageKey};
    use burnlink_core::link::LinkId;

    async fn collect(s: BlobStream) -> io::Result<Vec<u8>> {
        let mut s = s;
        let mut out = Vec::new();
        while let Some(b) = s.next().await {
            out.extend_from_slice(&b?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn any_cut_of_the_sealed_bytes_opens_from_any_offset_and_tampering_is_an_error() {
        let (key, id) = (StorageKey::generate(), LinkId([9; 16]));
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let mut sealed = Vec::new();
        let mut s = Sealer::new(&key, &id, seal::Algorithm::preferred());
        s.write(&data, &mut sealed);
        s.finish(&mut sealed);
        for cut in [1usize, 1000, seal::SEALED_CHUNK, 100_000] {
            for offset in [0u64, 1, 65_536, 131_073, 199_999, 200_000] {
                let (first, skip) = start(offset);
                let from = (first as usize * seal::SEALED_CHUNK).min(sealed.len());
                let pieces: Vec<io::Result<Bytes>> =
                    sealed[from..].chunks(cut).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
                let opened = open_stream(
                    futures_util::stream::iter(pieces),
                    Opener::new(&key, &id, seal::Algorithm::preferred()),
                    first,
                    skip,
                );
                assert!(collect(opened).await.unwrap() == data[offset as usize..], "cut {cut} offset {offset}");
            }
        }
        let mut bad = sealed.clone();
        bad[70_000] ^= 1;
        let opened = open_stream(
            futures_util::stream::iter([Ok(Bytes::from(bad))]),
            Opener::new(&key, &id, seal::Algorithm::preferred()),
            0,
            0,
        );
        assert!(collect(opened).await.is_err());
    }
}
