//! Checks of an `s3://` store's settings before and after the first request, so a setup that
//! cannot work is refused in one line saying what to set, rather than as `object_store`'s
//! "HTTP error: builder error" or a failed call to the EC2 metadata address.

use crate::error::{Error, InvalidInput, Result};

/// Environment variables (or `object_store` options) naming credentials other than the
/// instance's role.
const CREDENTIAL_KEYS: [&str; 4] = [
    "aws_access_key_id",
    "aws_web_identity_token_file",
    "aws_container_credentials_relative_uri",
    "aws_container_credentials_full_uri",
];

/// Refuses a plain-HTTP endpoint unless `AWS_ALLOW_HTTP` is true: `object_store` would refuse
/// every request with "builder error".
pub(super) fn check(url: &str, options: &[(String, String)]) -> Result<()> {
    let endpoint = options.iter().find(|(k, _)| {
        matches!(
            k.to_ascii_lowercase().as_str(),
            "aws_endpoint_url" | "aws_endpoint" | "aws_endpoint_url_s3" | "endpoint"
        )
    });
    let Some((key, endpoint)) = endpoint else {
        return Ok(());
    };
    let plain = endpoint.to_ascii_lowercase().starts_with("http://");
    if plain && !option_is_true(options, "aws_allow_http") {
        return Err(InvalidInput::StoreUrl {
            url: url.to_string(),
            reason: format!(
                "the endpoint {endpoint} ({}) is plain HTTP: set AWS_ALLOW_HTTP=true to allow it, or use https://",
                key.to_ascii_uppercase()
            ),
        }
        .into());
    }
    Ok(())
}

/// A failed first request without any credentials set: the client fell back to the EC2
/// instance metadata service and failed there, which means no credentials were found.
pub(super) fn explain(url: &str, options: &[(String, String)], e: Error) -> Error {
    let has_credentials = options
        .iter()
        .any(|(k, v)| CREDENTIAL_KEYS.contains(&k.to_ascii_lowercase().as_str()) && !v.is_empty());
    let from_instance = e.to_string().contains("169.254.169.254");
    match !has_credentials && from_instance {
        true => Error::NoCredentials {
            what: url.to_string(),
        },
        false => e,
    }
}

fn option_is_true(options: &[(String, String)], key: &str) -> bool {
    options
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case(key) && v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_http_needs_allow_http() {
        let http = opts(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")]);
        let e = check("s3://b", &http).unwrap_err().to_string();
        assert!(e.contains("set AWS_ALLOW_HTTP=true"), "{e}");
        let allowed = opts(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_ALLOW_HTTP", "true"),
        ]);
        assert!(check("s3://b", &allowed).is_ok());
        assert!(check("s3://b", &opts(&[("AWS_ENDPOINT", "https://s3.example")])).is_ok());
        assert!(check("s3://b", &[]).is_ok());
    }

    #[test]
    fn a_failed_metadata_call_without_credentials_means_none_were_found() {
        let imds = || {
            Error::from(object_store::Error::Generic {
                store: "S3",
                source: "Error performing PUT http://169.254.169.254/latest/api/token".into(),
            })
        };
        let e = explain("s3://b", &[], imds());
        assert!(matches!(e, Error::NoCredentials { .. }), "{e}");
        let keyed = opts(&[("AWS_ACCESS_KEY_ID", "k")]);
        assert!(matches!(explain("s3://b", &keyed, imds()), Error::Store(_)));
    }
}
