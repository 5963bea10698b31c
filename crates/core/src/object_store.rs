//! A small client for S3-compatible object storage (MinIO, Ceph, SeaweedFS, moto, AWS behind an
//! HTTP endpoint): whole objects put and got by key, each request signed with AWS Signature
//! Version 4, buckets addressed path-style (`<endpoint>/<bucket>/<key>`), which every
//! S3-compatible server understands without DNS set up per bucket.
//!
//! Where it is (`IRONMAGE_S3_ENDPOINT`), its region (`AWS_REGION`, default `us-east-1`) and the
//! credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) come from the environment of the
//! process, or from the named secrets of the same names in lower case
//! (`aws_secret_access_key` in the secrets file), which win. The HTTP client is built without
//! TLS, as the rest of ironmage's (a TLS stack would add a C build to every clean build): the
//! endpoint is `http://`, a TLS-terminating proxy in front of a remote store.

use crate::error::{Error, Result};
use crate::secrets::Secrets;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The variable naming the endpoint (`http://127.0.0.1:9000`).
pub const ENDPOINT_VAR: &str = "IRONMAGE_S3_ENDPOINT";
/// The variable naming the region requests are signed for.
pub const REGION_VAR: &str = "AWS_REGION";
/// The variable holding the access key id.
pub const ACCESS_KEY_VAR: &str = "AWS_ACCESS_KEY_ID";
/// The variable holding the secret access key.
pub const SECRET_KEY_VAR: &str = "AWS_SECRET_ACCESS_KEY";

/// The region when none is set: the one S3-compatible servers assume.
const DEFAULT_REGION: &str = "us-east-1";

/// How long one request may take, whole object included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// The bytes URI-encoding leaves as they are (RFC 3986 unreserved characters).
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

impl ObjectStoreConfig {
    /// The settings of this process: the environment variables, each overridden by the named
    /// secret of the same name in lower case. An unset endpoint or credential is an error
    /// naming the variable.
    pub fn from_env(secrets: &Secrets) -> Result<ObjectStoreConfig> {
        let lookup = |var: &str| {
            secrets
                .get(&var.to_ascii_lowercase())
                .or_else(|| std::env::var(var).ok())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let required = |var: &str| {
            lookup(var).ok_or_else(|| {
                Error::invalid_field(
                    var,
                    format!(
                        "is not set: object storage needs {ENDPOINT_VAR}, {ACCESS_KEY_VAR} and \
                         {SECRET_KEY_VAR} (as variables or named secrets) on the process that \
                         runs the block"
                    ),
                )
            })
        };
        Ok(ObjectStoreConfig {
            endpoint: required(ENDPOINT_VAR)?,
            region: lookup(REGION_VAR)
                .or_else(|| lookup("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| DEFAULT_REGION.to_string()),
            access_key_id: required(ACCESS_KEY_VAR)?,
            secret_access_key: required(SECRET_KEY_VAR)?,
        })
    }
}

impl ObjectStore {
    /// A client for the store `config` names; nothing is sent yet.
    pub fn new(config: ObjectStoreConfig) -> Result<ObjectStore> {
        let endpoint = config.endpoint.trim_end_matches('/');
        let rest = endpoint.strip_prefix("http://").ok_or_else(|| {
            Error::invalid_field(
                ENDPOINT_VAR,
                if endpoint.starts_with("https://") {
                    format!("{endpoint}: https is not supported (this build has no TLS): use the store's http endpoint or a TLS-terminating proxy")
                } else {
                    format!("{endpoint}: expected http://host[:port][/path]")
                },
            )
        })?;
        let (host, base_path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, String::new()),
        };
        if host.is_empty() || host.contains(['@', '?', '#']) {
            return Err(Error::invalid_field(
                ENDPOINT_VAR,
                format!("{endpoint}: expected http://host[:port][/path]"),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(ObjectStore {
            client,
            host: host.to_string(),
            base_path,
            region: config.region,
            access_key_id: config.access_key_id,
            secret_access_key: config.secret_access_key,
        })
    }

    /// Store `body` as the object `key` of `bucket`, replacing any object there.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<()> {
        let response = self
            .send(
                reqwest::Method::PUT,
                bucket,
                key,
                body,
                &[("content-type", content_type)],
            )
            .await?;
        self.check(response, bucket, key).await.map(drop)
    }

    /// The bytes of the object `key` of `bucket`; a missing object is a not-found error.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>> {
        let response = self
            .send(reqwest::Method::GET, bucket, key, Vec::new(), &[])
            .await?;
        let response = self.check(response, bucket, key).await?;
        let bytes = response.bytes().await.map_err(|e| {
            Error::unavailable(format!(
                "cannot read s3://{bucket}/{key} from {}: {e}",
                self.host
            ))
        })?;
        Ok(bytes.to_vec())
    }

    /// One signed request for an object.
    async fn send(
        &self,
        method: reqwest::Method,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Result<reqwest::Response> {
        let location = S3Location::new(bucket, key)?;
        let path = format!(
            "{}/{}/{}",
            self.base_path,
            encode(&location.bucket, false),
            encode(&location.key, true)
        );
        let now = chrono::Utc::now();
        let payload_hash = hex::encode(Sha256::digest(&body));
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let headers = [
            ("host", self.host.as_str()),
            ("x-amz-content-sha256", payload_hash.as_str()),
            ("x-amz-date", amz_date.as_str()),
        ];
        let authorization = sign(
            &Signing {
                method: method.as_str(),
                path: &path,
                query: "",
                headers: &headers,
                payload_hash: &payload_hash,
                amz_date: &amz_date,
                region: &self.region,
            },
            &self.access_key_id,
            &self.secret_access_key,
        );
        let mut request = self
            .client
            .request(method, format!("http://{}{path}", self.host))
            .header("x-amz-content-sha256", &payload_hash)
            .header("x-amz-date", &amz_date)
            .header("authorization", authorization);
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        request.body(body).send().await.map_err(|e| {
            Error::unavailable(format!(
                "cannot reach the object store at {} ({ENDPOINT_VAR}): {e}",
                self.host
            ))
        })
    }

    /// The response when it is a success, else an error with the store's code and message.
    async fn check(
        &self,
        response: reqwest::Response,
        bucket: &str,
        key: &str,
    ) -> Result<reqwest::Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let code = xml_element(&body, "Code").unwrap_or_default();
        let message = xml_element(&body, "Message").unwrap_or_default();
        let what = format!(
            "s3://{bucket}/{key}: the object store answered {} {code}{}{message}",
            status.as_u16(),
            if message.is_empty() { "" } else { ": " }
        );
        Err(match status.as_u16() {
            404 => Error::not_found(what),
            400..=499 => Error::invalid(what),
            _ => Error::unavailable(what),
        })
    }
}

impl S3Location {
    /// A bucket and key, checked: a bucket name as S3 allows (3 to 63 of a-z, 0-9, `.`, `-`),
    /// a non-empty key of at most 1024 bytes.
    pub fn new(bucket: &str, key: &str) -> Result<S3Location> {
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && bucket.as_bytes()[0].is_ascii_alphanumeric();
        if !bucket_ok {
            return Err(Error::invalid(format!(
                "{bucket:?} is not a bucket name (3 to 63 characters of a-z, 0-9, '.', '-')"
            )));
        }
        if key.is_empty() || key.len() > 1024 || key.starts_with('/') {
            return Err(Error::invalid(format!(
                "{key:?} is not an object key (1 to 1024 bytes, not starting with '/')"
            )));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// `s3://bucket/key` parsed, or `None` when `url` does not start with `s3://`.
    pub fn parse(url: &str) -> Option<Result<S3Location>> {
        let rest = url.strip_prefix("s3://")?;
        Some(match rest.split_once('/') {
            Some((bucket, key)) => S3Location::new(bucket, key),
            None => Err(Error::invalid(format!(
                "{url:?} names no object: expected s3://bucket/key"
            ))),
        })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// `text` URI-encoded as Signature V4 wants it: every byte but the unreserved ones as `%XX`
/// (upper-case hex), `/` kept when `keep_slash` (object keys are paths).
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `Authorization` header of a request (AWS Signature Version 4, header-based, service
/// `s3`). The headers must be lower-case names, sorted, and the ones the request sends.
fn sign(request: &Signing<'_>, access_key_id: &str, secret_access_key: &str) -> String {
    let canonical_headers: String = request
        .headers
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    let signed_headers = request
        .headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        request.method, request.path, request.query, request.payload_hash
    );
    let date = &request.amz_date[..8];
    let scope = format!("{date}/{}/s3/aws4_request", request.region);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        request.amz_date,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac_sha256(
        format!("AWS4{secret_access_key}").as_bytes(),
        date.as_bytes(),
    );
    for part in [request.region, "s3", "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The text of the first `<name>…</name>` of an S3 error body.
fn xml_element(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + body[start..].find(&format!("</{name}>"))?;
    Some(body[start..end].to_string())
}

/// What a request signature covers.
struct Signing<'a> {
    method: &'a str,
    /// The URI-encoded path.
    path: &'a str,
    /// The canonical query string (empty for object requests).
    query: &'a str,
    /// Lower-case names, sorted, with their values.
    headers: &'a [(&'a str, &'a str)],
    payload_hash: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    amz_date: &'a str,
    region: &'a str,
}

/// Where the store is and who signs the requests.
#[derive(Clone)]
pub struct ObjectStoreConfig {
    /// `http://host[:port][/path]`.
    pub endpoint: String,
    /// The region requests are signed for.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key (never logged, never sent: requests carry its signature only).
    pub secret_access_key: String,
}

impl std::fmt::Debug for ObjectStoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStoreConfig")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A client of one S3-compatible store; cheap to clone.
#[derive(Clone)]
pub struct ObjectStore {
    client: reqwest::Client,
    /// `host[:port]`, as the `Host` header carries it.
    host: String,
    /// The endpoint's path, before the bucket (empty, or `/s3` behind a proxy).
    base_path: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
}

impl std::fmt::Debug for ObjectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStore")
            .field("host", &self.host)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// An object's bucket and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key within it.
    pub key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The GET Object example of the Signature V4 documentation ("Example: GET Object",
    /// header-based authentication for S3), signed with the documentation's keys.
    #[test]
    fn the_documented_get_object_example_gets_the_documented_signature() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let authorization = sign(
            &Signing {
                method: "GET",
                path: "/test.txt",
                query: "",
                headers: &[
                    ("host", "examplebucket.s3.amazonaws.com"),
                    ("range", "bytes=0-9"),
                    ("x-amz-content-sha256", empty),
                    ("x-amz-date", "20130524T000000Z"),
                ],
                payload_hash: empty,
                amz_date: "20130524T000000Z",
                region: "us-east-1",
            },
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn keys_are_encoded_once_with_their_slashes() {
        assert_eq!(
            encode("exports/2026 Q1/sales+ü.csv", true),
            "exports/2026%20Q1/sales%2B%C3%BC.csv"
        );
        assert_eq!(encode("a/b", false), "a%2Fb");
    }

    #[test]
    fn locations_and_endpoints_are_checked() {
        let at = S3Location::parse("s3://my-bucket/exports/a.csv")
            .unwrap()
            .unwrap();
        assert_eq!(
            (at.bucket.as_str(), at.key.as_str()),
            ("my-bucket", "exports/a.csv")
        );
        assert_eq!(at.to_string(), "s3://my-bucket/exports/a.csv");
        assert!(S3Location::parse("/tmp/a.csv").is_none());
        for bad in ["s3://bucket", "s3://Bucket/a", "s3://b/a", "s3://bucket/"] {
            assert!(S3Location::parse(bad).unwrap().is_err(), "{bad}");
        }
        let config = |endpoint: &str| ObjectStoreConfig {
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            access_key_id: "id".into(),
            secret_access_key: "secret".into(),
        };
        let store = ObjectStore::new(config("http://127.0.0.1:9000/s3/")).unwrap();
        assert_eq!(
            (store.host.as_str(), store.base_path.as_str()),
            ("127.0.0.1:9000", "/s3")
        );
        let err = ObjectStore::new(config("https://s3.amazonaws.com")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some(ENDPOINT_VAR));
        assert!(
            err.message.contains("https is not supported"),
            "{}",
            err.message
        );
        assert!(ObjectStore::new(config("minio:9000")).is_err());
        assert!(!format!("{:?}", config("http://h")).contains("secret"));
    }

    #[test]
    fn named_secrets_win_and_an_unset_endpoint_names_its_variable() {
        let secrets = |pairs: &[(&str, &str)]| {
            Secrets::from_values(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let config = ObjectStoreConfig::from_env(&secrets(&[
            ("ironmage_s3_endpoint", "http://127.0.0.1:9000"),
            ("aws_region", "eu-west-3"),
            ("aws_access_key_id", "from-secret"),
            ("aws_secret_access_key", "secret-key"),
        ]))
        .unwrap();
        assert_eq!(config.endpoint, "http://127.0.0.1:9000");
        assert_eq!(config.region, "eu-west-3");
        assert_eq!(config.access_key_id, "from-secret");
        assert_eq!(config.secret_access_key, "secret-key");
        // The variable may be set where the tests run: the error is checked when it is not.
        if std::env::var(ENDPOINT_VAR).is_err() {
            let err = ObjectStoreConfig::from_env(&secrets(&[])).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(ENDPOINT_VAR));
            assert!(err.message.contains("is not set"), "{}", err.message);
        }
    }
}
