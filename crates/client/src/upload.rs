//! The one request the app makes outside a meeting: uploading logs, when
//! the user asks to. Nothing else here, and nothing automatic.

use std::time::Duration;

use crate::error::AppError;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Checks the support address the user configured.
pub fn upload_url(text: &str) -> Result<url::Url, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::Invalid(
            "set the address to upload logs to in Settings first".into(),
        ));
    }
    let url = url::Url::parse(text).map_err(|e| {
        AppError::Invalid(crate::Said::new(
            format!("the log upload address {text:?}: {e}"),
            format!("日志上传地址 {text:?}：{e}"),
        ))
    })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    // Logs leave the device only encrypted; plain http only to this machine.
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(AppError::Invalid(crate::Said::new(
            format!("the log upload address must be an https:// address, not {text:?}"),
            format!("日志上传地址必须是 https:// 地址，而不是 {text:?}"),
        ))),
    }
}

fn client() -> Result<reqwest::Client, AppError> {
    // ring, as the rest of the app's TLS and DTLS uses; installing twice is
    // harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        // The logs go to the address the user typed, and nowhere else.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            AppError::Connection(crate::Said::new(
                format!("cannot prepare the upload: {e}"),
                format!("无法准备上传：{e}"),
            ))
        })
}

/// POSTs `body` as plain text; any status but 2xx is an error.
pub async fn post_text(url: url::Url, body: String) -> Result<(), AppError> {
    let host = url.host_str().unwrap_or_default().to_string();
    let response = client()?
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                AppError::Unreachable(crate::Said::new(
                    format!("{host} did not answer within 30 s; try again later"),
                    format!("{host} 在 30 秒内没有响应；请稍后再试"),
                ))
            } else {
                AppError::Unreachable(crate::Said::new(
                    format!("cannot reach {host}: {e}"),
                    format!("无法连接 {host}：{e}"),
                ))
            }
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(AppError::Refused(crate::Said::new(
            format!("{host} refused the logs ({status}); check the address in Settings"),
            format!("{host} 拒绝了日志（{status}）；请在设置中检查地址"),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_addresses_with_a_host_are_accepted() {
        assert!(upload_url("https://support.example/logs").is_ok());
        assert!(upload_url(" http://127.0.0.1:9/x ").is_ok());
        for bad in [
            "",
            "  ",
            "support.example",
            "ftp://h/x",
            "file:///etc/passwd",
            "https://",
        ] {
            assert!(
                matches!(upload_url(bad), Err(AppError::Invalid(_))),
                "{bad:?} was accepted"
            );
        }
    }
}
