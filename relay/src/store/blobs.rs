/*!
Large sealed content in S3-compatible object storage, for the PostgreSQL backend: the only code that speaks S3
(through `object_store`).

- **Names** are random (`burnlink/<32 hex>`), never derived from a link id, so a bucket listing says nothing about
  links.
- **Uploads** are a run of segment objects (`burnlink/<32 hex>/<8 digits>`), about 5 MiB each, with one in flight
  while the next fills. A segment is readable as soon as its PUT returns, which is what lets a recipient read a live
  upload behind its writer; a multipart upload's parts are readable by nobody until it completes. The database
  records the name *before* the first segment goes out, so whatever a crash or an outage leaves behind is known and
  cleaned up by a sweep. Objects from schema 1 (one object per content, written by multipart upload) are still read
  and deleted.
- **Reads** are GETs of one segment each (or, for a schema-1 object, ranged GETs of a segment's size), one ahead of
  the reader, so a slow download never holds one HTTP request open for hours and a resume starts at the chunk it
  needs.
- **No presigned URL is ever made**: a URL can be fetched twice, and a link must be read once.

Credentials come from the standard AWS environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...).
*/

use std::io;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, RetryConfig};

use super::seal;
use super::StoreError;

/// Sealed chunks per segment and per ranged read: 80 × (64 KiB + 16), just over 5 MiB (S3's least multipart part,
/// which schema-1 objects were written in).
pub const PART_CHUNKS: usize = 80;
/// Bytes in a full segment.
pub const PART: usize = PART_CHUNKS * seal::SEALED_CHUNK;

/// Where large content goes: `s3://BUCKET[?endpoint=URL][&region=R]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobsUrl {
    /// The bucket.
    pub bucket: String,
    /// The S3 endpoint, for a server other than AWS (`http://127.0.0.1:8333`).
    pub endpoint: Option<String>,
    /// The region (default: `AWS_REGION`, else `us-east-1`).
    pub region: Option<String>,
}

impl FromStr for BlobsUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let u = url::Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
        if u.scheme() != "s3" {
            return Err(format!("blob storage must be s3://BUCKET?endpoint=URL&region=R, not {:?}", u.scheme()));
        }
        let bucket = u.host_str().filter(|b| !b.is_empty()).ok_or("s3:// needs a bucket name")?.to_owned();
        if !matches!(u.path(), "" | "/") {
            return Err("s3://BUCKET takes no path".into());
        }
        let (mut endpoint, mut region) = (None, None);
        for (k, v) in u.query_pairs() {
            match &*k {
                "endpoint" => {
                    let e = url::Url::parse(&v).map_err(|e| format!("endpoint {v:?}: {e}"))?;
                    if !matches!(e.scheme(), "http" | "https") {
                        return Err(format!("endpoint {v:?} must be http:// or https://"));
                    }
                    endpoint = Some(v.trim_end_matches('/').to_owned());
                }
                "region" => region = Some(v.into_owned()),
                other => return Err(format!("unknown s3:// parameter {other:?} (known: endpoint, region)")),
            }
        }
        Ok(Self { bucket, endpoint, region })
    }
}

/// A schema-1 multipart upload in progress, as the database records it.
pub type UploadId = String;

/// The bucket.
#[derive(Clone)]
pub struct Blobs {
    s3: Arc<AmazonS3>,
}

fn failed(e: object_store::Error) -> StoreError {
    StoreError::Blobs(super::with_causes(&e))
}

impl Blobs {
    /// A client for `url`, with credentials from the environment. Requests give up after `deadline` in all, so an
    /// unreachable server fails a create cleanly instead of hanging it.
    pub fn connect(url: &BlobsUrl, deadline: Duration) -> Result<Self, StoreError> {
        // reqwest's TLS takes the process's default provider: ring, as for QUIC and HTTPS (already set: fine).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let backoff = BackoffConfig { init_backoff: Duration::from_millis(50), max_backoff: deadline / 4, base: 2.0 };
        // Client options first: `with_allow_http` is one of them, and setting the options afterwards would reset it.
        let client =
            ClientOptions::new().with_connect_timeout(Duration::from_secs(5)).with_timeout(Duration::from_secs(120));
        let mut b = AmazonS3Builder::from_env()
            .with_client_options(client)
            .with_bucket_name(&url.bucket)
            .with_retry(RetryConfig { backoff, max_retries: 4, retry_timeout: deadline });
        if let Some(e) = &url.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        if let Some(r) = &url.region {
            b = b.with_region(r);
        }
        let s3 = b.build().map_err(failed)?;
        Ok(Self { s3: Arc::new(s3) })
    }

    /// A fresh random object name.
    pub fn new_name() -> String {
        let mut b = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        format!("burnlink/{}", b.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    /// Segment `index` (from 0) of content `name`.
    fn segment(name: &str, index: u32) -> Path {
        Path::from(format!("{name}/{index:08}"))
    }

    /// Stores segment `index` of `name`: readable by [`Blobs::read_segment`] once this returns.
    pub async fn put_segment(&self, name: &str, index: u32, data: Bytes) -> Result<(), StoreError> {
        self.s3.put(&Self::segment(name, index), data.into()).await.map(drop).map_err(failed)
    }

    /// Segment `index` of `name`, whole (a resume into it skips locally: a range at the segment's very end is an
    /// error to S3, and a segment is only a few MiB).
    pub async fn read_segment(&self, name: &str, index: u32) -> Result<Bytes, StoreError> {
        let got = self.s3.get(&Self::segment(name, index)).await.map_err(failed)?;
        got.bytes().await.map_err(failed)
    }

    /// Deletes content `name`: its segments, or its schema-1 object and, if that one's upload never completed, the
    /// upload's parts. Idempotent.
    pub async fn delete(&self, name: &str, upload: Option<&UploadId>) -> Result<(), StoreError> {
        let path = Path::from(name);
        // Listed, not counted: a segment whose PUT outran the database's count is found too.
        let segments: Vec<_> = self.s3.list(Some(&path)).map(|m| m.map(|m| m.location)).collect().await;
        let segments = futures_util::stream::iter(segments).boxed();
        let mut deleted = self.s3.delete_stream(segments);
        while let Some(d) = deleted.next().await {
            match d {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        if let Some(upload) = upload {
            match self.s3.abort_multipart(&path, upload).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        match self.s3.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }

    /// A schema-1 object's sealed bytes from `from` to `len`, a segment's worth per request, one request ahead. The first
    /// request is made before this returns, so a missing object or an unreachable server is an error here, before
    /// anything (a claim) depends on the content.
    pub async fn read(
        &self,
        name: &str,
        from: u64,
        len: u64,
    ) -> Result<impl Stream<Item = io::Result<Bytes>> + Send + 'static, StoreError> {
        let (s3, path) = (self.s3.clone(), Path::from(name));
        let get = move |start: u64| {
            let (s3, path) = (s3.clone(), path.clone());
            async move {
                let range = GetRange::Bounded(start..(start + PART as u64).min(len));
                let opts = GetOptions { range: Some(range), ..GetOptions::default() };
                s3.get_opts(&path, opts).await?.bytes().await
            }
        };
        let first = if from < len { Some(get(from).await.map_err(failed)?) } else { None };
        let rest = futures_util::stream::iter((from..len).step_by(PART).skip(1)).map(get).buffered(2);
        Ok(futures_util::stream::iter(first.map(Ok)).chain(rest).map(|r| r.map_err(io::Error::other)))
    }

    /// Names of every object under `burnlink/` (tests and operators: what the bucket holds).
    pub async fn list(&self) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let mut all = self.s3.list(Some(&Path::from("burnlink")));
        while let Some(m) = all.next().await {
            names.push(m.map_err(failed)?.location.to_string());
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_urls_parse_and_bad_ones_say_why() {
        let u: BlobsUrl = "s3://burnlink?endpoint=http://127.0.0.1:8333/&region=eu-1".parse().unwrap();
        assert_eq!(
            u,
            BlobsUrl {
                bucket: "burnlink".into(),
                endpoint: Some("http://127.0.0.1:8333".into()),
                region: Some("eu-1".into())
            }
        );
        let u: BlobsUrl = "s3://b".parse().unwrap();
        assert_eq!((u.endpoint, u.region), (None, None));
        for (bad, why) in [
            ("http://b", "s3://BUCKET"),
            ("s3://b/path", "no path"),
            ("s3://b?endpoint=ftp://x", "http://"),
            ("s3://b?secret=1", "unknown"),
            ("s3://", "bucket"),
        ] {
            let e = bad.parse::<BlobsUrl>().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
