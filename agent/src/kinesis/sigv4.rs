//! AWS Signature Version 4, checked on each Kinesis request when the agent has access keys
//! (`silt agent --auth-keys FILE`): the request is canonicalised as the client did, the
//! signature recomputed with the secret of its access key id, and compared in constant time.
//! A request signed more than [`CLOCK_SKEW_MAX_MS`] away from the agent's clock is refused, as
//! AWS refuses it. Only the `Authorization` header form is accepted (not presigned URLs).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::serve::ListenError;

/// How far a request's `X-Amz-Date` may be from the agent's clock: five minutes.
pub const CLOCK_SKEW_MAX_MS: i64 = 5 * 60 * 1000;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Access key ids and their secrets, read from a file: one `ACCESS_KEY_ID SECRET_ACCESS_KEY`
/// pair per line; blank lines and lines starting with `#` are skipped.
#[derive(Clone)]
pub struct AccessKeys(Arc<HashMap<String, String>>);

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessKeys({} keys)", self.0.len())
    }
}

impl AccessKeys {
    /// Reads the keys in `path`; refuses a file with none, or a line that is not a pair.
    pub fn read(path: &Path) -> Result<AccessKeys, ListenError> {
        let fail = |reason: String| ListenError::Keys {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        AccessKeys::parse(&text).map_err(fail)
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<AccessKeys, String> {
        let mut keys = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                [id, secret] => keys.insert(id.to_string(), secret.to_string()),
                _ => {
                    return Err(format!(
                        "line {} is not `ACCESS_KEY_ID SECRET_ACCESS_KEY`",
                        n + 1
                    ));
                }
            };
        }
        match keys.is_empty() {
            true => Err("no access keys in the file".into()),
            false => Ok(AccessKeys(Arc::new(keys))),
        }
    }
}

/// Why a signature was refused, with the AWS error it is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No `Authorization` header (`MissingAuthenticationTokenException`).
    Missing,
    /// An access key id the agent does not know (`UnrecognizedClientException`).
    UnknownKey,
    /// Malformed, stale, or not matching (`InvalidSignatureException`), and why.
    Invalid(String),
}

/// The parts of a request a signature covers.
pub(crate) struct SignedRequest<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
}

/// The `Authorization` header's parts.
struct Authorization<'a> {
    key_id: &'a str,
    /// `date/region/service/aws4_request`.
    scope: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

/// The region a request is signed for (from its credential scope), if it is signed.
pub(crate) fn signed_region(headers: &HeaderMap) -> Option<String> {
    let header = headers.get("authorization")?.to_str().ok()?;
    let auth = parse_authorization(header).ok()?;
    auth.scope.split('/').nth(1).map(str::to_string)
}

/// Checks the request's signature against `keys` at `now_ms`.
pub(crate) fn verify(
    keys: &AccessKeys,
    request: &SignedRequest<'_>,
    now_ms: i64,
) -> Result<(), Refused> {
    let header = match request.headers.get("authorization") {
        Some(value) => value
            .to_str()
            .map_err(|_| invalid("the Authorization header is not text"))?,
        None => return Err(Refused::Missing),
    };
    let auth = parse_authorization(header)?;
    let secret = keys.0.get(auth.key_id).ok_or(Refused::UnknownKey)?;
    let amz_date = header_text(request.headers, "x-amz-date")
        .ok_or_else(|| invalid("the request has no X-Amz-Date header"))?;
    let signed_ms =
        parse_amz_date(amz_date).ok_or_else(|| invalid("X-Amz-Date is not YYYYMMDDTHHMMSSZ"))?;
    if (now_ms - signed_ms).abs() > CLOCK_SKEW_MAX_MS {
        return Err(invalid(format!(
            "Signature expired: {amz_date} is more than {} minutes from the agent's time",
            CLOCK_SKEW_MAX_MS / 60_000
        )));
    }
    let scope_parts: Vec<&str> = auth.scope.split('/').collect();
    let [date, region, service, "aws4_request"] = scope_parts[..] else {
        return Err(invalid(
            "the credential scope is not date/region/service/aws4_request",
        ));
    };
    if !amz_date.starts_with(date) {
        return Err(invalid(
            "the credential scope's date is not the X-Amz-Date's",
        ));
    }
    let canonical = canonical_request(request, auth.signed_headers)?;
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        auth.scope,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    match bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        true => Ok(()),
        false => Err(invalid(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        )),
    }
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, Refused> {
    let rest = header
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| invalid(format!("only {ALGORITHM} signatures are accepted")))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(invalid(
            "the Authorization header lacks Credential, SignedHeaders or Signature",
        ));
    };
    let (key_id, scope) = credential
        .split_once('/')
        .ok_or_else(|| invalid("the Credential is not key-id/scope"))?;
    Ok(Authorization {
        key_id,
        scope,
        signed_headers,
        signature,
    })
}

/// The canonical request of SigV4: method, path, sorted query, the signed headers (lower
/// case, values trimmed and inner spaces folded), their names, and the body's SHA-256.
fn canonical_request(request: &SignedRequest<'_>, signed_headers: &str) -> Result<String, Refused> {
    let mut text = format!("{}\n{}\n", request.method, request.path);
    let mut query: Vec<&str> = request.query.split('&').filter(|p| !p.is_empty()).collect();
    // Sorted by name, then value (not as whole `name=value` strings: `a-b=1` sorts after `a=1`).
    query.sort_unstable_by_key(|pair| pair.split_once('=').unwrap_or((pair, "")));
    text.push_str(&query.join("&"));
    text.push('\n');
    for name in signed_headers.split(';') {
        let values: Vec<String> = request
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().map(fold_spaces))
            .collect::<Result<_, _>>()
            .map_err(|_| invalid(format!("the signed header {name} is not text")))?;
        if values.is_empty() {
            return Err(invalid(format!(
                "the signed header {name} is not in the request"
            )));
        }
        text.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    text.push_str(&format!("\n{signed_headers}\n"));
    text.push_str(&hex::encode(Sha256::digest(request.body)));
    Ok(text)
}

fn fold_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// Milliseconds since the Unix epoch of an `X-Amz-Date` (`20261205T120000Z`).
fn parse_amz_date(text: &str) -> Option<i64> {
    let digits = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    if text.len() != 16 || text.as_bytes()[8] != b'T' || !text.ends_with('Z') {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn invalid(reason: impl Into<String>) -> Refused {
    Refused::Invalid(reason.into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    /// AWS's documented example (IAM ListUsers, "Create a signed AWS API request"): the
    /// signature a client computes is the one checked here.
    fn example() -> (AccessKeys, HeaderMap, Method) {
        let keys =
            AccessKeys::parse("# test\nAKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n")
                .unwrap();
        let mut headers = HeaderMap::new();
        let set = |h: &mut HeaderMap, n: &'static str, v: &str| {
            h.insert(n, HeaderValue::from_str(v).unwrap());
        };
        set(
            &mut headers,
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        );
        set(&mut headers, "host", "iam.amazonaws.com");
        set(&mut headers, "x-amz-date", "20150830T123600Z");
        set(
            &mut headers,
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        );
        (keys, headers, Method::GET)
    }

    fn signed<'a>(method: &'a Method, headers: &'a HeaderMap) -> SignedRequest<'a> {
        SignedRequest {
            method,
            path: "/",
            query: "Version=2010-05-08&Action=ListUsers",
            headers,
            body: b"",
        }
    }

    const EXAMPLE_MS: i64 = 1_440_938_160_000; // 2015-08-30T12:36:00Z

    #[test]
    fn aws_documented_signature_is_accepted() {
        let (keys, headers, method) = example();
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(EXAMPLE_MS));
        assert_eq!(
            verify(&keys, &signed(&method, &headers), EXAMPLE_MS),
            Ok(())
        );
        assert_eq!(signed_region(&headers).as_deref(), Some("us-east-1"));
    }

    #[test]
    fn a_changed_request_a_wrong_key_or_a_stale_date_is_refused() {
        let (keys, mut headers, method) = example();
        let stale = verify(
            &keys,
            &signed(&method, &headers),
            EXAMPLE_MS + CLOCK_SKEW_MAX_MS + 1,
        );
        assert!(matches!(stale, Err(Refused::Invalid(m)) if m.contains("expired")));
        let post = Method::POST;
        assert!(matches!(
            verify(&keys, &signed(&post, &headers), EXAMPLE_MS),
            Err(Refused::Invalid(_))
        ));
        let other = AccessKeys::parse("AKIDEXAMPLE another-secret").unwrap();
        assert!(matches!(
            verify(&other, &signed(&method, &headers), EXAMPLE_MS),
            Err(Refused::Invalid(_))
        ));
        let unknown =
            AccessKeys::parse("AKIDOTHER wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").unwrap();
        assert_eq!(
            verify(&unknown, &signed(&method, &headers), EXAMPLE_MS),
            Err(Refused::UnknownKey)
        );
        headers.insert("host", HeaderValue::from_static("evil.example.com"));
        assert!(matches!(
            verify(&keys, &signed(&method, &headers), EXAMPLE_MS),
            Err(Refused::Invalid(_))
        ));
        headers.remove("authorization");
        assert_eq!(
            verify(&keys, &signed(&method, &headers), EXAMPLE_MS),
            Err(Refused::Missing)
        );
    }

    /// SigV4 sorts query parameters by name, then value, not as `name=value` strings.
    #[test]
    fn query_parameters_are_sorted_by_name_then_value() {
        let (_, headers, method) = example();
        let request = SignedRequest {
            query: "a-b=1&a=2&a=1",
            ..signed(&method, &headers)
        };
        let canonical = canonical_request(&request, "host").unwrap();
        assert_eq!(canonical.lines().nth(2), Some("a=1&a=2&a-b=1"));
    }

    #[test]
    fn key_files_must_hold_pairs() {
        assert!(AccessKeys::parse("# nothing\n\n").is_err());
        assert!(
            AccessKeys::parse("only-an-id\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(AccessKeys::parse("a b c\n").is_err());
    }
}
