//! The delivery channels' wire: HTTP POST (webhooks, the SMS gateway) over kept-alive HTTP/1.1 connections, and
//! SMTP to a relay. Each send answers whether the message was accepted, should be retried, or failed for good; the
//! worker turns that into the outbox's bookkeeping.
//!
//! Only `http://` and plain SMTP are spoken: Gridline hands messages to a gateway or relay on the local network,
//! which owns the onward TLS connections to carriers and mail providers.

use std::collections::HashMap;
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

/// An `http://host:port/path` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port`.
    pub authority: String,
    /// `/path?query`.
    pub path: String,
}

impl HttpUrl {
    /// Parses an `http://` URL; `None` for anything else.
    pub fn parse(url: &str) -> Option<HttpUrl> {
        let rest = url.trim().strip_prefix("http://")?;
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
        let authority =
            if authority.contains(':') && !authority.ends_with(']') { authority.to_string() } else { format!("{authority}:80") };
        Some(HttpUrl { authority, path: path.to_string() })
    }
}

/// Kept-alive HTTP/1.1 connections, by `host:port`.
#[derive(Debug, Default)]
pub struct HttpClient {
    idle: std::sync::Mutex<HashMap<String, Vec<SendRequest<Full<Bytes>>>>>,
}

/// Idle connections kept per host.
const IDLE_PER_HOST: usize = 64;

impl HttpClient {
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

    async fn connect(authority: &str) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect(authority).await.map_err(|error| format!("connect {authority}: {error}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
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
            let mut sender = match self.take_idle(&url.authority) {
                Some(sender) => sender,
                None => Self::connect(&url.authority).await?,
            };
            sender.ready().await.map_err(|error| format!("connection: {error}"))?;
            let mut request =
                hyper::Request::post(url.path.as_str()).header("host", url.authority.as_str()).header("content-length", body.len());
            for (name, value) in headers {
                request = request.header(*name, value.as_str());
            }
            let request = request.body(Full::new(body)).map_err(|error| format!("request: {error}"))?;
            let response = sender.send_request(request).await.map_err(|error| format!("send: {error}"))?;
            let status = response.status().as_u16();
            // Read the body to the end so that the connection can carry the next request.
            response.into_body().collect().await.map_err(|error| format!("response: {error}"))?;
            self.put_idle(&url.authority, sender);
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
            let mut sender = match self.take_idle(&url.authority) {
                Some(sender) => sender,
                None => Self::connect(&url.authority).await?,
            };
            sender.ready().await.map_err(|error| format!("connection: {error}"))?;
            let request = hyper::Request::get(url.path.as_str())
                .header("host", url.authority.as_str())
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
            self.put_idle(&url.authority, sender);
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
            Some(HttpUrl { authority: "127.0.0.1:9000".into(), path: "/sms?x=1".into() })
        );
        assert_eq!(HttpUrl::parse("http://gateway.local").unwrap().authority, "gateway.local:80");
        assert_eq!(HttpUrl::parse("https://x/"), None);
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
