//! The delivery channels' wire: HTTP POST (webhooks, the SMS gateway) and GET (CAP feeds) over kept-alive HTTP/1.1
//! connections, plain or TLS (`https://`, rustls with Mozilla's roots and any a feed adds), and SMTP to a relay.
//! Each send answers whether the message was accepted, should be retried, or failed for good; the worker turns that
//! into the outbox's bookkeeping.
//!
//! SMTP is spoken plain: Gridline hands e-mail to a relay on the local network, which owns the onward TLS
//! connections to mail providers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hmac::{KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Accepted by the receiver.
    Accepted,
    /// Not accepted this time (the receiver is down, busy or answered 5xx): try again later.
    Retry(String),
    /// Refused (4xx, a 5xx SMTP reply, a malformed address): trying again will not help.
    Failed(String),
}

/// An `http://` or `https://` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port`.
    pub authority: String,
    /// `/path?query`.
    pub path: String,
    /// Whether it is `https://`.
    pub tls: bool,
}

impl HttpUrl {
    /// Parses an `http://` or `https://` URL; `None` for anything else.
    pub fn parse(url: &str) -> Option<HttpUrl> {
        let url = url.trim();
        let (rest, tls) = match url.strip_prefix("https://") {
            Some(rest) => (rest, true),
            None => (url.strip_prefix("http://")?, false),
        };
        let (authority, path) = match rest.find('/') {
            Some(index) => (&rest[..index], &rest[index..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') || authority.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let default_port = if tls { 443 } else { 80 };
        let authority = if authority.rsplit_once(':').is_some_and(|(_, port)| !port.contains(']')) {
            authority.to_string()
        } else {
            format!("{authority}:{default_port}")
        };
        Some(HttpUrl { authority, path: path.to_string(), tls })
    }

    /// The host name (for TLS: the name the certificate must carry).
    pub fn host(&self) -> &str {
        let host = self.authority.rsplit_once(':').map(|(host, _)| host).unwrap_or(&self.authority);
        host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The `Host` header: the authority, without the scheme's default port.
    pub fn host_header(&self) -> String {
        match self.authority.rsplit_once(':') {
            Some((host, "443")) if self.tls => host.to_string(),
            Some((host, "80")) if !self.tls => host.to_string(),
            _ => self.authority.clone(),
        }
    }

    /// The key of its connections: scheme and authority.
    fn connection_key(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.authority)
    }
}

/// Kept-alive HTTP/1.1 connections, by scheme and `host:port`; TLS trusting Mozilla's roots (and any added).
#[derive(Debug)]
pub struct HttpClient {
    idle: std::sync::Mutex<HashMap<String, Vec<SendRequest<Full<Bytes>>>>>,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
}

impl Default for HttpClient {
    fn default() -> HttpClient {
        HttpClient::trusting(&[]).unwrap_or_else(|_| unreachable!("no extra certificates to read"))
    }
}

/// Idle connections kept per host.
const IDLE_PER_HOST: usize = 64;

impl HttpClient {
    /// A client that trusts Mozilla's roots and the certificates in these PEM files (a feed's own authority, a
    /// gateway's private CA). A file that cannot be read, or holds no certificate, is an error.
    pub fn trusting(pem_files: &[std::path::PathBuf]) -> Result<HttpClient, String> {
        use rustls_pki_types::pem::PemObject as _;
        let mut roots = tokio_rustls::rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for file in pem_files {
            let mut added = 0;
            for certificate in
                rustls_pki_types::CertificateDer::pem_file_iter(file).map_err(|error| format!("{}: {error}", file.display()))?
            {
                let certificate = certificate.map_err(|error| format!("{}: {error}", file.display()))?;
                roots.add(certificate).map_err(|error| format!("{}: {error}", file.display()))?;
                added += 1;
            }
            if added == 0 {
                return Err(format!("{}: no certificate in it", file.display()));
            }
        }
        // ring, not aws-lc-rs: it builds without cmake. rustls marks it deprecated only because it has no
        // post-quantum key exchange yet; the classical suites it offers are the ones feeds and gateways speak.
        #[allow(deprecated)]
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(HttpClient { idle: std::sync::Mutex::default(), tls: Arc::new(config) })
    }

    fn take_idle(&self, authority: &str) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = idle.get_mut(authority)?;
        while let Some(sender) = list.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn put_idle(&self, authority: &str, sender: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = idle.entry(authority.to_string()).or_default();
        if list.len() < IDLE_PER_HOST {
            list.push(sender);
        }
    }

    async fn connect(&self, url: &HttpUrl) -> Result<SendRequest<Full<Bytes>>, String> {
        let authority = &url.authority;
        let stream = TcpStream::connect(authority).await.map_err(|error| format!("connect {authority}: {error}"))?;
        let _ = stream.set_nodelay(true);
        if !url.tls {
            let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|error| format!("handshake {authority}: {error}"))?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            return Ok(sender);
        }
        let name = rustls_pki_types::ServerName::try_from(url.host().to_string()).map_err(|error| format!("{}: {error}", url.host()))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, stream)
            .await
            .map_err(|error| format!("TLS with {authority}: {error}"))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|error| format!("handshake {authority}: {error}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// POSTs `body` with `headers`; answers the status code.
    pub async fn post(&self, url: &HttpUrl, headers: &[(&str, String)], body: Bytes, timeout: Duration) -> Result<u16, String> {
        let attempt = async {
            let mut sender = match self.take_idle(&url.connection_key()) {
                Some(sender) => sender,
                None => self.connect(url).await?,
            };
            sender.ready().await.map_err(|error| format!("connection: {error}"))?;
            let mut request =
                hyper::Request::post(url.path.as_str()).header("host", url.host_header()).header("content-length", body.len());
            for (name, value) in headers {
                request = request.header(*name, value.as_str());
            }
            let request = request.body(Full::new(body)).map_err(|error| format!("request: {error}"))?;
            let response = sender.send_request(request).await.map_err(|error| format!("send: {error}"))?;
            let status = response.status().as_u16();
            // Read the body to the end so that the connection can carry the next request.
            response.into_body().collect().await.map_err(|error| format!("response: {error}"))?;
            self.put_idle(&url.connection_key(), sender);
            Ok::<u16, String>(status)
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
        }
    }
}

impl HttpClient {
    /// GETs `url`; answers the status and at most `limit` bytes of body (a longer body is an error).
    pub async fn get(&self, url: &HttpUrl, timeout: Duration, limit: usize) -> Result<(u16, Bytes), String> {
        let attempt = async {
            let mut sender = match self.take_idle(&url.connection_key()) {
                Some(sender) => sender,
                None => self.connect(url).await?,
            };
            sender.ready().await.map_err(|error| format!("connection: {error}"))?;
            let request = hyper::Request::get(url.path.as_str())
                .header("host", url.host_header())
                .header("accept", "application/atom+xml, application/rss+xml, application/cap+xml, application/xml;q=0.9, */*;q=0.1")
                .body(Full::new(Bytes::new()))
                .map_err(|error| format!("request: {error}"))?;
            let response = sender.send_request(request).await.map_err(|error| format!("send: {error}"))?;
            let status = response.status().as_u16();
            let body = http_body_util::Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|error| format!("response: {error}"))?
                .to_bytes();
            self.put_idle(&url.connection_key(), sender);
            Ok::<(u16, Bytes), String>((status, body))
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
        }
    }
}

/// What an HTTP status means for a delivery.
pub fn http_outcome(result: Result<u16, String>) -> Sent {
    match result {
        Ok(status) if (200..300).contains(&status) => Sent::Accepted,
        // 409 Conflict from a receiver that deduplicates by idempotency key: it already has this message.
        Ok(409) => Sent::Accepted,
        Ok(status @ (408 | 425 | 429)) => Sent::Retry(format!("HTTP {status}")),
        Ok(status) if status >= 500 => Sent::Retry(format!("HTTP {status}")),
        Ok(status) => Sent::Failed(format!("HTTP {status}")),
        Err(error) => Sent::Retry(error),
    }
}

/// The `X-Gridline-Signature` of a webhook body: `sha256=` and the hex HMAC-SHA256 of the body under the
/// organization's secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", crate::util::hex(&mac.finalize().into_bytes()))
}

/// Whether an e-mail address is safe to put in an SMTP command and a header.
pub fn plausible_email(address: &str) -> bool {
    let address = address.trim();
    address.len() <= 254
        && address.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && (domain.contains('.') || domain == "localhost"))
        && !address.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"' | '(' | ')'))
}

/// An e-mail to send.
#[derive(Debug, Clone)]
pub struct Email<'a> {
    /// `From:` address.
    pub from: &'a str,
    /// Recipient address.
    pub to: &'a str,
    /// Subject (any language).
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
    /// Globally unique id, for `Message-ID` (receivers deduplicate by it).
    pub message_id: &'a str,
    /// The `Date:` header value (RFC 2822).
    pub date: &'a str,
}

fn encoded_word(text: &str) -> String {
    if text.is_ascii() && !text.contains("=?") {
        return text.replace(['\r', '\n'], " ");
    }
    format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
}

/// The message text of an e-mail: headers and a base64 UTF-8 body, lines ending in CRLF.
pub fn email_text(email: &Email<'_>) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(email.body.as_bytes());
    let mut text = String::with_capacity(body.len() + 512);
    text.push_str(&format!("From: {}\r\n", email.from));
    text.push_str(&format!("To: {}\r\n", email.to));
    text.push_str(&format!("Subject: {}\r\n", encoded_word(email.subject)));
    text.push_str(&format!("Message-ID: <{}>\r\n", email.message_id));
    text.push_str(&format!("Date: {}\r\n", email.date));
    text.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    for line in body.as_bytes().chunks(76) {
        text.push_str(std::str::from_utf8(line).unwrap_or_default());
        text.push_str("\r\n");
    }
    text
}

async fn reply(reader: &mut BufReader<TcpStream>) -> Result<(u16, String), String> {
    let mut total = 0usize;
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).await.map_err(|error| format!("SMTP read: {error}"))?;
        if read == 0 {
            return Err("SMTP server closed the connection".into());
        }
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| format!("SMTP: unexpected reply {line:?}"))?;
        total += line.len();
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, line.trim_end().to_string()));
        }
        if total > 16_384 {
            return Err("SMTP reply too long".into());
        }
    }
}

/// Sends one e-mail through the relay at `server` (`host:port`).
pub async fn send_email(server: &str, email: &Email<'_>, timeout: Duration) -> Sent {
    if !plausible_email(email.to) {
        return Sent::Failed(format!("not an e-mail address: {:?}", email.to));
    }
    let conversation = async {
        let stream = TcpStream::connect(server).await.map_err(|error| (true, format!("connect {server}: {error}")))?;
        let mut reader = BufReader::new(stream);
        let expect = |(code, text): (u16, String), ok: &[u16]| -> Result<(), (bool, String)> {
            if ok.contains(&code) {
                Ok(())
            } else {
                // 4xx: try again later; 5xx: refused for good.
                Err((code < 500, text))
            }
        };
        expect(reply(&mut reader).await.map_err(|e| (true, e))?, &[220])?;
        for (command, ok) in [
            ("EHLO gridline\r\n".to_string(), &[250u16][..]),
            (format!("MAIL FROM:<{}>\r\n", email.from), &[250][..]),
            (format!("RCPT TO:<{}>\r\n", email.to.trim()), &[250, 251][..]),
            ("DATA\r\n".to_string(), &[354][..]),
        ] {
            reader.get_mut().write_all(command.as_bytes()).await.map_err(|error| (true, format!("SMTP write: {error}")))?;
            expect(reply(&mut reader).await.map_err(|e| (true, e))?, ok)?;
        }
        let mut data = String::new();
        for line in email_text(email).split("\r\n") {
            // Dot-stuffing (RFC 5321 §4.5.2).
            if line.starts_with('.') {
                data.push('.');
            }
            data.push_str(line);
            data.push_str("\r\n");
        }
        data.push_str(".\r\n");
        reader.get_mut().write_all(data.as_bytes()).await.map_err(|error| (true, format!("SMTP write: {error}")))?;
        expect(reply(&mut reader).await.map_err(|e| (true, e))?, &[250])?;
        let _ = reader.get_mut().write_all(b"QUIT\r\n").await;
        Ok::<(), (bool, String)>(())
    };
    match tokio::time::timeout(timeout, conversation).await {
        Ok(Ok(())) => Sent::Accepted,
        Ok(Err((true, error))) => Sent::Retry(error),
        Ok(Err((false, error))) => Sent::Failed(error),
        Err(_) => Sent::Retry(format!("SMTP: no answer within {} s", timeout.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_strictly() {
        assert_eq!(
            HttpUrl::parse("http://127.0.0.1:9000/sms?x=1"),
            Some(HttpUrl { authority: "127.0.0.1:9000".into(), path: "/sms?x=1".into(), tls: false })
        );
        assert_eq!(HttpUrl::parse("http://gateway.local").unwrap().authority, "gateway.local:80");
        let secure = HttpUrl::parse("https://alerts.weather.gov/cap/us.php?x=atom").unwrap();
        assert_eq!((secure.authority.as_str(), secure.host(), secure.tls), ("alerts.weather.gov:443", "alerts.weather.gov", true));
        assert_eq!(HttpUrl::parse("https://[::1]:8443/a").unwrap().host(), "::1");
        assert_eq!(HttpUrl::parse("ftp://x/"), None);
        assert_eq!(HttpUrl::parse("http://user@host/"), None);
        assert_eq!(HttpUrl::parse("http://host/a b"), None);
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(http_outcome(Ok(204)), Sent::Accepted);
        assert_eq!(http_outcome(Ok(409)), Sent::Accepted);
        assert!(matches!(http_outcome(Ok(503)), Sent::Retry(_)));
        assert!(matches!(http_outcome(Ok(429)), Sent::Retry(_)));
        assert!(matches!(http_outcome(Ok(400)), Sent::Failed(_)));
        assert!(matches!(http_outcome(Err("refused".into())), Sent::Retry(_)));
    }

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn emails_are_mime_encoded_and_addresses_checked() {
        let email = Email {
            from: "a@b.cn",
            to: "c@d.cn",
            subject: "暴雨红色预警",
            body: "正文",
            message_id: "x@gridline",
            date: "Sat, 28 Nov 2026 08:00:00 +0800",
        };
        let text = email_text(&email);
        assert!(text.contains("Subject: =?UTF-8?B?"));
        assert!(text.contains("Content-Transfer-Encoding: base64\r\n\r\n5q2j5paH\r\n"));
        assert!(plausible_email("someone@example.org"));
        assert!(!plausible_email("a@b.c>\r\nRCPT TO:<evil@x.y"));
        assert!(!plausible_email("no-at-sign"));
    }
}
