//! Polling external CAP feeds (Atom or RSS, as national and provincial warning services publish them): each
//! entry either links to its CAP document (`<link type="application/cap+xml" href=…>`, an RSS `<link>`) or carries
//! it inline (`<content type="text/xml"><alert …>`). New entries are fetched and ingested like a CAP document posted
//! to the API, with `feed:<name>` as their source; ingest is idempotent, so an entry seen twice changes nothing.

use std::collections::HashSet;
use std::time::Duration;

use domain::Locale;
use quick_xml::events::Event;

use super::FeedConfig;
use crate::Context;
use crate::transport::{HttpClient, HttpUrl};
use crate::warnings::Warnings;

/// The largest feed or CAP document fetched.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// One entry of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// The entry's id (Atom `id`, RSS `guid`), or its link.
    pub id: String,
    /// Where its CAP document is, if it links to one.
    pub cap_url: Option<String>,
    /// The CAP document carried inline, if any.
    pub inline: Option<String>,
}

/// Why a feed could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedError(pub String);

/// Reads the entries of an Atom or RSS feed. A malformed feed is an error naming the position; an entry with
/// neither a CAP link nor inline CAP is skipped.
pub fn parse_feed(text: &str) -> Result<Vec<FeedEntry>, FeedError> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut entries = Vec::new();
    // The element names on the way down, local names only.
    let mut path: Vec<String> = Vec::new();
    let mut current: Option<(String, Option<String>, Option<String>, Option<String>)> = None; // id, cap link, other link, inline
    let mut text_buffer = String::new();
    let mut inline_start: Option<usize> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|error| FeedError(format!("at byte {}: {error}", reader.error_position())))?;
        let is_empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(element) | Event::Empty(element) => {
                let name = element.local_name().into_inner().to_string();
                if name == "entry" || name == "item" {
                    current = Some((String::new(), None, None, None));
                }
                if let Some(entry) = current.as_mut() {
                    if name == "link" {
                        let mut href = None;
                        let mut kind = None;
                        for attribute in element.attributes().flatten() {
                            let value = attribute.value.to_string();
                            let value = quick_xml::escape::unescape(&value).map(|v| v.into_owned()).unwrap_or(value);
                            match attribute.key.local_name().into_inner() {
                                "href" => href = Some(value),
                                "type" => kind = Some(value),
                                _ => {}
                            }
                        }
                        if let Some(href) = href {
                            if kind.as_deref().is_some_and(|k| k.contains("cap")) {
                                entry.1 = Some(href);
                            } else if entry.2.is_none() {
                                entry.2 = Some(href);
                            }
                        }
                    }
                    if name == "alert" && inline_start.is_none() && path.iter().any(|p| p == "content" || p == "description") {
                        let offset = text.get(before..).and_then(|rest| rest.find('<')).unwrap_or(0);
                        inline_start = Some(before + offset);
                    }
                }
                // An empty element has no end event.
                if !is_empty {
                    path.push(name);
                }
                text_buffer.clear();
            }
            Event::Text(content) => {
                text_buffer.push_str(&content.xml10_content());
            }
            Event::CData(content) => text_buffer.push_str(&content.xml10_content()),
            Event::GeneralRef(reference) => {
                if let Ok(Some(c)) = reference.resolve_char_ref() {
                    text_buffer.push(c);
                } else if let Some(resolved) = quick_xml::escape::resolve_predefined_entity(&reference) {
                    text_buffer.push_str(resolved);
                }
            }
            Event::End(element) => {
                let name = element.local_name().into_inner().to_string();
                if let Some(entry) = current.as_mut() {
                    match name.as_str() {
                        "id" | "guid" if entry.0.is_empty() => entry.0 = text_buffer.trim().to_string(),
                        // RSS: <link>URL</link>.
                        "link" if !text_buffer.trim().is_empty() && entry.2.is_none() => entry.2 = Some(text_buffer.trim().to_string()),
                        "alert" => {
                            if let Some(start) = inline_start.take() {
                                let end = reader.buffer_position() as usize;
                                entry.3 = text.get(start..end).map(str::to_string);
                            }
                        }
                        "entry" | "item" => {
                            if let Some((id, cap_link, other_link, inline)) = current.take() {
                                let cap_url = cap_link.or(if inline.is_none() { other_link.clone() } else { None });
                                if cap_url.is_some() || inline.is_some() {
                                    let id = if id.is_empty() { cap_url.clone().unwrap_or_default() } else { id };
                                    entries.push(FeedEntry { id, cap_url, inline });
                                }
                            }
                        }
                        _ => {}
                    }
                }
                path.pop();
                text_buffer.clear();
            }
            Event::DocType(_) => return Err(FeedError("a feed may not carry a document type declaration".into())),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(entries)
}

/// What a poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedReport {
    /// Entries in the feed.
    pub entries: usize,
    /// Warnings received for the first time.
    pub ingested: usize,
    /// Entries already received (seen before, or ingested before under the same sender, identifier and time).
    pub known: usize,
    /// Entries that could not be fetched or were refused, with why.
    pub rejected: Vec<(String, String)>,
    /// Entries that were CAP 1.0 or 1.1, converted to CAP 1.2 on the way in.
    pub converted: usize,
}

impl Warnings {
    /// Polls a feed once; `seen` remembers entries already handled by this process.
    pub async fn poll_feed(&self, feed: &FeedConfig, client: &HttpClient, seen: &mut HashSet<String>) -> Result<FeedReport, FeedError> {
        let timeout = Duration::from_secs(self.kernel.config().delivery.timeout_seconds.max(1));
        let url = HttpUrl::parse(&feed.url).ok_or_else(|| FeedError(format!("{}: only https:// and http:// feeds are read", feed.url)))?;
        let (status, body) = client.get(&url, timeout, MAX_BYTES).await.map_err(FeedError)?;
        if !(200..300).contains(&status) {
            return Err(FeedError(format!("{}: HTTP {status}", feed.url)));
        }
        let text = String::from_utf8(body.to_vec()).map_err(|_| FeedError(format!("{}: not UTF-8", feed.url)))?;
        let entries = parse_feed(&text)?;
        let mut report = FeedReport { entries: entries.len(), ..FeedReport::default() };
        let ctx = Context::system(&format!("feed:{}", feed.name), Locale::ZhCn);
        let source = format!("feed:{}", feed.name);
        for entry in entries {
            if seen.contains(&entry.id) {
                report.known += 1;
                continue;
            }
            let document = match (&entry.inline, &entry.cap_url) {
                (Some(inline), _) => inline.clone().into_bytes(),
                (None, Some(link)) => {
                    let Some(link_url) = HttpUrl::parse(&resolve(&feed.url, link)) else {
                        report.rejected.push((entry.id.clone(), format!("{link}: only https:// and http:// links are followed")));
                        seen.insert(entry.id);
                        continue;
                    };
                    match client.get(&link_url, timeout, MAX_BYTES).await {
                        Ok((status, body)) if (200..300).contains(&status) => body.to_vec(),
                        // Fetch failures are retried at the next poll: the entry is not marked seen.
                        Ok((status, _)) => {
                            report.rejected.push((entry.id.clone(), format!("{link}: HTTP {status}")));
                            continue;
                        }
                        Err(error) => {
                            report.rejected.push((entry.id.clone(), error));
                            continue;
                        }
                    }
                }
                (None, None) => continue,
            };
            match self.relay_trusted_cap(&ctx, &document, &source).await {
                Ok(ingested) if ingested.created => {
                    report.ingested += 1;
                    if let Some(version) = &ingested.converted_from {
                        report.converted += 1;
                        tracing::info!(feed = %feed.name, entry = %entry.id, version = %version, "a CAP {version} alert was converted to CAP 1.2");
                    }
                }
                Ok(_) => report.known += 1,
                Err(error) => report.rejected.push((entry.id.clone(), error.message(Locale::En))),
            }
            seen.insert(entry.id);
        }
        Ok(report)
    }

    /// Polls every configured feed at its interval until `stop` turns true.
    pub async fn run_feed_pollers(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let feeds = self.kernel.config().warnings.feeds.clone();
        if feeds.is_empty() {
            return;
        }
        // Each feed's client trusts the public roots and the feed's own certificates, if it names any.
        let mut clients = Vec::with_capacity(feeds.len());
        for feed in &feeds {
            let extra: Vec<std::path::PathBuf> = feed.ca_file.iter().cloned().collect();
            match HttpClient::trusting(&extra) {
                Ok(client) => clients.push(client),
                Err(error) => {
                    tracing::error!(feed = %feed.name, %error, "the feed's certificates cannot be read; it is polled with the public roots only");
                    clients.push(HttpClient::default());
                }
            }
        }
        let mut seen: Vec<HashSet<String>> = vec![HashSet::new(); feeds.len()];
        let mut next: Vec<tokio::time::Instant> = vec![tokio::time::Instant::now(); feeds.len()];
        loop {
            if *stop.borrow() {
                return;
            }
            let now = tokio::time::Instant::now();
            for (index, feed) in feeds.iter().enumerate() {
                if next[index] > now {
                    continue;
                }
                next[index] = now + Duration::from_secs(feed.interval_seconds.max(5));
                match self.poll_feed(feed, &clients[index], &mut seen[index]).await {
                    Ok(report) if report.ingested > 0 || !report.rejected.is_empty() => {
                        tracing::info!(feed = %feed.name, ingested = report.ingested, rejected = ?report.rejected, "feed polled");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(feed = %feed.name, error = %error.0, "feed poll failed"),
                }
            }
            let wake = next.iter().min().copied().unwrap_or(now + Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// A link relative to the feed's address made absolute.
fn resolve(base: &str, link: &str) -> String {
    if link.starts_with("http://") || link.starts_with("https://") {
        return link.to_string();
    }
    let Some((scheme, rest)) = base.split_once("://") else { return link.to_string() };
    let host = rest.split('/').next().unwrap_or(rest);
    if link.starts_with('/') {
        return format!("{scheme}://{host}{link}");
    }
    match base.rfind('/') {
        Some(index) if index > scheme.len() + 3 => format!("{}/{link}", &base[..index]),
        _ => format!("{scheme}://{host}/{link}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds").join(name)).unwrap()
    }

    #[test]
    fn atom_entries_link_to_their_cap() {
        let entries = parse_feed(&fixture("google_earthquake_index.atom")).unwrap();
        assert_eq!(
            entries,
            vec![FeedEntry {
                id: "urn:earthquake-usgs-gov:us:2010apcd".into(),
                cap_url: Some("http://earthquake.usgs.gov/earthquakes/catalogs/cap/us2010apcd".into()),
                inline: None,
            }]
        );
    }

    #[test]
    fn inline_cap_is_cut_out_whole() {
        let entries = parse_feed(&fixture("google_canada_signed.atom")).unwrap();
        assert!(!entries.is_empty());
        for entry in &entries {
            let inline = entry.inline.as_deref().expect("inline CAP");
            assert!(inline.starts_with("<alert") && inline.ends_with("</alert>"), "{}", &inline[..60]);
            let parsed = cap::parse_alert(inline.as_bytes());
            assert!(parsed.alert.is_some(), "{:?}", parsed.findings);
        }
        let amber = parse_feed(&fixture("google_amber.atom")).unwrap();
        assert_eq!(amber.len(), 1);
        assert!(amber[0].inline.as_deref().unwrap().contains("<identifier>http://doj.dc.gov/amber12345</identifier>"));
    }

    #[test]
    fn empty_and_broken_feeds() {
        assert!(parse_feed(&fixture("google_no_entries.atom")).unwrap().is_empty());
        assert!(parse_feed(&fixture("google_invalid.rss")).unwrap().is_empty(), "an item without a link is skipped");
        assert!(parse_feed(&fixture("google_invalid_element.atom")).unwrap().is_empty());
        assert!(parse_feed("<feed><entry><link href='x'/></feed>").is_err());
        assert!(parse_feed("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><feed>&e;</feed>").is_err());
        let rss = "<rss><channel><item><guid>g1</guid><link>http://example.org/cap/1.xml</link></item></channel></rss>";
        assert_eq!(parse_feed(rss).unwrap()[0].cap_url.as_deref(), Some("http://example.org/cap/1.xml"));
    }

    #[test]
    fn relative_links_resolve_against_the_feed() {
        assert_eq!(resolve("http://a.cn/feeds/index.atom", "cap/1.xml"), "http://a.cn/feeds/cap/1.xml");
        assert_eq!(resolve("http://a.cn/feeds/index.atom", "/cap/1.xml"), "http://a.cn/cap/1.xml");
        assert_eq!(resolve("http://a.cn/feeds/index.atom", "http://b.cn/x"), "http://b.cn/x");
        assert_eq!(resolve("https://a.cn/feeds/index.atom", "/cap/1.xml"), "https://a.cn/cap/1.xml");
        assert_eq!(resolve("https://a.cn/index.atom", "cap/1.xml"), "https://a.cn/cap/1.xml");
    }
}
