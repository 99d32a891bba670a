//! Readers for the two OpenStreetMap encodings, feeding one [`ElementSink`].
//!
//! This module owns decoding only: `.osm.pbf` through the `osmpbf` crate, and `.osm` XML (plain or gzip,
//! detected by its magic bytes) through a streaming `quick-xml` reader.
//! It must never interpret tags; that is the importer's job.

use std::io::{BufRead, BufReader, Read};

use quick_xml::events::{BytesStart, Event};

use crate::error::SpatialError;

/// A relation member as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub kind: MemberKind,
    pub id: i64,
    pub role: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    Node,
    Way,
    Relation,
}

/// Receives elements in file order.
pub trait ElementSink {
    fn node(&mut self, id: i64, lon: f64, lat: f64, tags: &[(String, String)]);
    fn way(&mut self, id: i64, refs: &[i64], tags: &[(String, String)]);
    fn relation(&mut self, id: i64, members: &[Member], tags: &[(String, String)]);
}

/// Counts bytes as they are read, and tells a callback.
pub(crate) struct CountingReader<'p, R> {
    pub(crate) inner: R,
    pub(crate) read: u64,
    pub(crate) progress: &'p mut (dyn FnMut(u64) + Send),
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

/// Reads a PBF stream. A read error part-way is returned as `Err` after the elements before it were delivered.
pub(crate) fn read_pbf<R: Read + Send>(reader: R, sink: &mut dyn ElementSink) -> Result<(), String> {
    let reader = osmpbf::ElementReader::new(reader);
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut refs: Vec<i64> = Vec::new();
    let mut members: Vec<Member> = Vec::new();
    reader
        .for_each(|element| match element {
            osmpbf::Element::Node(n) => {
                tags.clear();
                tags.extend(n.tags().map(|(k, v)| (k.to_string(), v.to_string())));
                sink.node(n.id(), n.lon(), n.lat(), &tags);
            }
            osmpbf::Element::DenseNode(n) => {
                tags.clear();
                tags.extend(n.tags().map(|(k, v)| (k.to_string(), v.to_string())));
                sink.node(n.id(), n.lon(), n.lat(), &tags);
            }
            osmpbf::Element::Way(w) => {
                tags.clear();
                tags.extend(w.tags().map(|(k, v)| (k.to_string(), v.to_string())));
                refs.clear();
                refs.extend(w.refs());
                sink.way(w.id(), &refs, &tags);
            }
            osmpbf::Element::Relation(r) => {
                tags.clear();
                tags.extend(r.tags().map(|(k, v)| (k.to_string(), v.to_string())));
                members.clear();
                members.extend(r.members().map(|m| Member {
                    kind: match m.member_type {
                        osmpbf::RelMemberType::Node => MemberKind::Node,
                        osmpbf::RelMemberType::Way => MemberKind::Way,
                        osmpbf::RelMemberType::Relation => MemberKind::Relation,
                    },
                    id: m.member_id,
                    role: m.role().unwrap_or("").to_string(),
                }));
                sink.relation(r.id(), &members, &tags);
            }
        })
        .map_err(|e| e.to_string())
}

/// Reads OSM XML, gzip-compressed or not. Malformed XML part-way is returned as `Err` after the elements before it.
pub(crate) fn read_xml<R: Read>(reader: R, sink: &mut dyn ElementSink) -> Result<(), String> {
    let mut buffered = BufReader::with_capacity(1 << 16, reader);
    let is_gzip = buffered.fill_buf().map_err(|e| e.to_string())?.starts_with(&[0x1f, 0x8b]);
    if is_gzip {
        let decoder = flate2::read::MultiGzDecoder::new(buffered);
        parse_xml(BufReader::with_capacity(1 << 16, decoder), sink)
    } else {
        parse_xml(buffered, sink)
    }
}

#[derive(PartialEq)]
enum Current {
    None,
    Node { id: i64, lon: f64, lat: f64 },
    Way { id: i64 },
    Relation { id: i64 },
}

fn parse_xml<R: BufRead>(reader: R, sink: &mut dyn ElementSink) -> Result<(), String> {
    let mut xml = quick_xml::Reader::from_reader(reader);
    let mut buf = Vec::new();
    let mut current = Current::None;
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut refs: Vec<i64> = Vec::new();
    let mut members: Vec<Member> = Vec::new();
    let mut saw_osm_root = false;
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| format!("XML error at byte {}: {e}", xml.buffer_position()))?;
        let (start, is_empty) = match &event {
            Event::Start(s) => (Some(s.clone()), false),
            Event::Empty(s) => (Some(s.clone()), true),
            Event::End(e) => {
                match e.local_name().as_ref() {
                    "node" | "way" | "relation" => flush(&mut current, &tags, &refs, &members, sink),
                    _ => {}
                }
                buf.clear();
                continue;
            }
            Event::Eof => break,
            _ => {
                buf.clear();
                continue;
            }
        };
        if let Some(s) = start {
            match s.local_name().as_ref() {
                "osm" | "osmChange" => saw_osm_root = true,
                "node" => {
                    tags.clear();
                    let id = attr_i64(&s, "id");
                    let lon = attr_f64(&s, "lon");
                    let lat = attr_f64(&s, "lat");
                    current = match (id, lon, lat) {
                        (Some(id), Some(lon), Some(lat)) => Current::Node { id, lon, lat },
                        // A node without a position cannot be used; it is as if it were missing.
                        _ => Current::None,
                    };
                    if is_empty {
                        flush(&mut current, &tags, &refs, &members, sink);
                    }
                }
                "way" => {
                    tags.clear();
                    refs.clear();
                    current = attr_i64(&s, "id").map_or(Current::None, |id| Current::Way { id });
                    if is_empty {
                        flush(&mut current, &tags, &refs, &members, sink);
                    }
                }
                "relation" => {
                    tags.clear();
                    members.clear();
                    current = attr_i64(&s, "id").map_or(Current::None, |id| Current::Relation { id });
                    if is_empty {
                        flush(&mut current, &tags, &refs, &members, sink);
                    }
                }
                "tag" => {
                    if let (Some(k), Some(v)) = (attr_string(&s, "k"), attr_string(&s, "v")) {
                        tags.push((k, v));
                    }
                }
                "nd" => {
                    if let Some(r) = attr_i64(&s, "ref") {
                        refs.push(r);
                    }
                }
                "member" => {
                    let kind = match attr_string(&s, "type").as_deref() {
                        Some("node") => Some(MemberKind::Node),
                        Some("way") => Some(MemberKind::Way),
                        Some("relation") => Some(MemberKind::Relation),
                        _ => None,
                    };
                    if let (Some(kind), Some(id)) = (kind, attr_i64(&s, "ref")) {
                        members.push(Member { kind, id, role: attr_string(&s, "role").unwrap_or_default() });
                    }
                }
                _ => {}
            }
        }
        buf.clear();
    }
    if saw_osm_root { Ok(()) } else { Err("no <osm> root element".to_string()) }
}

fn flush(current: &mut Current, tags: &[(String, String)], refs: &[i64], members: &[Member], sink: &mut dyn ElementSink) {
    match std::mem::replace(current, Current::None) {
        Current::Node { id, lon, lat } => sink.node(id, lon, lat, tags),
        Current::Way { id } => sink.way(id, refs, tags),
        Current::Relation { id } => sink.relation(id, members, tags),
        Current::None => {}
    }
}

fn attr_string(s: &BytesStart<'_>, name: &str) -> Option<String> {
    let a = s.try_get_attribute(name).ok().flatten()?;
    a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned())
}

fn attr_i64(s: &BytesStart<'_>, name: &str) -> Option<i64> {
    attr_string(s, name)?.parse().ok()
}

fn attr_f64(s: &BytesStart<'_>, name: &str) -> Option<f64> {
    attr_string(s, name)?.parse().ok()
}

/// Wraps an IO error with the path for the caller.
pub(crate) fn io_error(path: &std::path::Path, source: std::io::Error) -> SpatialError {
    SpatialError::Io { path: path.display().to_string(), source }
}
