//! A safe XML reader that builds a small tree with line numbers, and the writing helpers the emitters share.
//!
//! This module owns everything about XML syntax: decoding the bytes (UTF-8, UTF-16 with a byte-order mark,
//! ISO-8859-1, Windows-1252, US-ASCII), resolving namespaces, refusing what is dangerous and escaping what is written.
//! It never resolves an entity other than the five predefined ones and character references, never reads a DTD
//! (a `DOCTYPE` stops the reader: the XXE defence), never fetches anything, and bounds the nesting depth so hostile
//! input cannot exhaust the stack. It knows nothing of CAP or EDXL.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::finding::{Finding, Rule};
use crate::model::{XmlAttribute, XmlContent, XmlElement};

/// Elements nested deeper than this are refused; real CAP and EDXL documents stay below 10.
pub(crate) const MAX_DEPTH: usize = 64;

/// The `xml:` namespace, bound to the `xml` prefix by definition.
const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// An element read from a document, with the line it starts on.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: Vec<XmlAttribute>,
    pub children: Vec<Child>,
    pub line: u32,
}

/// A child of a `Node`.
#[derive(Debug, Clone)]
pub(crate) enum Child {
    Element(Node),
    Text(String),
}

impl Node {
    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Node> {
        self.children.iter().filter_map(|c| match c {
            Child::Element(n) => Some(n),
            Child::Text(_) => None,
        })
    }

    /// All text directly inside the element, concatenated.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for child in &self.children {
            if let Child::Text(t) = child {
                out.push_str(t);
            }
        }
        out
    }

    /// The text that is not only whitespace, if any, for "text where only elements belong" findings.
    pub fn stray_text(&self) -> Option<String> {
        let text = self.text();
        let trimmed = text.trim_matches(crate::values::is_xml_space);
        (!trimmed.is_empty()).then(|| trimmed.chars().take(40).collect())
    }

    /// The node as a model `XmlElement` (lines dropped).
    pub fn to_xml_element(&self) -> XmlElement {
        XmlElement {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            attributes: self.attributes.clone(),
            children: self
                .children
                .iter()
                .map(|c| match c {
                    Child::Element(n) => XmlContent::Element(n.to_xml_element()),
                    Child::Text(t) => XmlContent::Text(t.clone()),
                })
                .collect(),
        }
    }

    /// `{namespace}name`, or `name` without a namespace, for messages.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Reads a whole document into a tree. A fatal problem (not XML, a DTD, too deep) is returned as one finding.
pub(crate) fn read_document(bytes: &[u8]) -> Result<Node, Finding> {
    let text = decode(bytes)?;
    let lines = LineIndex::new(&text);
    if let Some(position) = text.find(|c: char| !is_xml_char(c)) {
        let c = text[position..].chars().next().unwrap_or('\0');
        return Err(Finding::new(Rule::XmlInvalidCharacter, "/")
            .at_line(Some(lines.line(position)))
            .with_value(format!("U+{:04X}", u32::from(c))));
    }
    build_tree(&text, &lines)
}

fn build_tree(text: &str, lines: &LineIndex) -> Result<Node, Finding> {
    let mut reader = NsReader::from_str(text);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.trim_text(false);
    }
    let fatal = |position: u64, rule: Rule, value: String| {
        let finding = Finding::new(rule, "/").at_line(Some(lines.line(position as usize)));
        if value.is_empty() { finding } else { finding.with_value(value) }
    };
    let mut stack: Vec<Node> = Vec::new();
    let mut pending_text = String::new();
    let mut root: Option<Node> = None;
    loop {
        let start = reader.buffer_position();
        let (namespace, event) = match reader.read_resolved_event() {
            Ok((ResolveResult::Bound(ns), event)) => (Some(ns.into_inner().to_string()), event),
            Ok((ResolveResult::Unbound, event)) => (None, event),
            Ok((ResolveResult::Unknown(prefix), _)) => {
                return Err(fatal(start, Rule::XmlUndeclaredPrefix, prefix));
            }
            Err(error) => return Err(fatal(reader.error_position(), Rule::XmlMalformed, error.to_string())),
        };
        let is_empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(element) | Event::Empty(element) => {
                if root.is_some() {
                    return Err(fatal(start, Rule::XmlOutsideRoot, String::new()));
                }
                if stack.len() >= MAX_DEPTH {
                    let finding = Finding::new(Rule::XmlTooDeep, "/").at_line(Some(lines.line(start as usize)));
                    return Err(finding.with_value(MAX_DEPTH.to_string()));
                }
                flush_text(&mut stack, &mut pending_text);
                let attributes = read_attributes(&reader, &element, start, &fatal)?;
                let name = element.local_name().into_inner().to_string();
                // The start position is where the previous event ended; skip whitespace to find the tag's own line.
                let tag_position = start as usize + text.get(start as usize..).and_then(|rest| rest.find('<')).unwrap_or(0);
                let node = Node { namespace, name, attributes, children: Vec::new(), line: lines.line(tag_position) };
                if is_empty {
                    close(node, &mut stack, &mut root);
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                flush_text(&mut stack, &mut pending_text);
                match stack.pop() {
                    Some(node) => close(node, &mut stack, &mut root),
                    None => return Err(fatal(start, Rule::XmlUnexpectedEndTag, String::new())),
                }
            }
            Event::Text(content) => push_text(&stack, &mut pending_text, &content.xml10_content(), start, &fatal)?,
            Event::CData(content) => {
                if stack.is_empty() {
                    return Err(fatal(start, Rule::XmlOutsideRoot, String::new()));
                }
                pending_text.push_str(&content.xml10_content());
            }
            Event::GeneralRef(reference) => {
                let replacement: Cow<'_, str> = match reference.resolve_char_ref() {
                    Ok(Some(c)) if is_xml_char(c) => Cow::Owned(c.to_string()),
                    Ok(Some(c)) => return Err(fatal(start, Rule::XmlInvalidCharacter, format!("U+{:04X}", u32::from(c)))),
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&reference) {
                        Some(text) => Cow::Borrowed(text),
                        None => return Err(fatal(start, Rule::XmlUndefinedEntity, format!("&{};", &*reference))),
                    },
                    Err(error) => return Err(fatal(start, Rule::XmlMalformed, error.to_string())),
                };
                push_text(&stack, &mut pending_text, &replacement, start, &fatal)?;
            }
            Event::DocType(_) => return Err(Finding::new(Rule::DtdForbidden, "/").at_line(Some(lines.line(start as usize)))),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(fatal(start, Rule::XmlUnclosedElement, open.name.clone()));
                }
                return root.ok_or_else(|| fatal(start, Rule::XmlNoRoot, String::new()));
            }
        }
    }
}

/// The attributes of a start tag, namespace declarations left out, values unescaped and normalised.
fn read_attributes<F>(
    reader: &NsReader<&[u8]>,
    element: &quick_xml::events::BytesStart<'_>,
    start: u64,
    fatal: &F,
) -> Result<Vec<XmlAttribute>, Finding>
where
    F: Fn(u64, Rule, String) -> Finding,
{
    let mut attributes = Vec::new();
    for attribute in element.attributes().with_checks(true) {
        let attribute = attribute.map_err(|e| fatal(start, Rule::XmlMalformed, e.to_string()))?;
        let key = attribute.key.into_inner();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let (resolved, local) = reader.resolver().resolve_attribute(attribute.key);
        let namespace = match resolved {
            ResolveResult::Bound(ns) => Some(ns.into_inner().to_string()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) if prefix == "xml" => Some(XML_NAMESPACE.to_string()),
            ResolveResult::Unknown(prefix) => return Err(fatal(start, Rule::XmlUndeclaredPrefix, prefix)),
        };
        let value =
            attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| fatal(start, Rule::XmlMalformed, e.to_string()))?;
        if let Some(c) = value.chars().find(|c| !is_xml_char(*c)) {
            return Err(fatal(start, Rule::XmlInvalidCharacter, format!("U+{:04X}", u32::from(c))));
        }
        attributes.push(XmlAttribute { namespace, name: local.into_inner().to_string(), value: value.into_owned() });
    }
    Ok(attributes)
}

fn push_text<F>(stack: &[Node], pending_text: &mut String, content: &str, start: u64, fatal: &F) -> Result<(), Finding>
where
    F: Fn(u64, Rule, String) -> Finding,
{
    if stack.is_empty() {
        if content.chars().all(crate::values::is_xml_space) {
            return Ok(());
        }
        return Err(fatal(start, Rule::XmlOutsideRoot, String::new()));
    }
    pending_text.push_str(content);
    Ok(())
}

fn flush_text(stack: &mut [Node], pending_text: &mut String) {
    if pending_text.is_empty() {
        return;
    }
    if let Some(parent) = stack.last_mut() {
        parent.children.push(Child::Text(std::mem::take(pending_text)));
    } else {
        pending_text.clear();
    }
}

fn close(node: Node, stack: &mut [Node], root: &mut Option<Node>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Child::Element(node)),
        None => *root = Some(node),
    }
}

/// Whether a character may appear in an XML 1.0 document.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Byte offsets of line starts, for turning a position into a 1-based line number.
struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        Self { newlines: text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i).collect() }
    }

    fn line(&self, position: usize) -> u32 {
        let before = self.newlines.partition_point(|&n| n < position);
        u32::try_from(before + 1).unwrap_or(u32::MAX)
    }
}

/// Decodes the document to UTF-8 text from its byte-order mark or the `encoding` of its XML declaration.
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, Finding> {
    let fail = |rule: Rule, value: &str| Finding::new(rule, "/").at_line(Some(1)).with_value(value);
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest).map(Cow::Borrowed).map_err(|_| fail(Rule::XmlEncoding, "UTF-8"));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return decode_utf16(rest, u16::from_be_bytes).ok_or_else(|| fail(Rule::XmlEncoding, "UTF-16")).map(Cow::Owned);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return decode_utf16(rest, u16::from_le_bytes).ok_or_else(|| fail(Rule::XmlEncoding, "UTF-16")).map(Cow::Owned);
    }
    let declared = declared_encoding(bytes).unwrap_or_else(|| "UTF-8".to_string());
    match declared.to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" => std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|_| fail(Rule::XmlEncoding, "UTF-8")),
        "us-ascii" | "ascii" => {
            if bytes.is_ascii() {
                std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|_| fail(Rule::XmlEncoding, "US-ASCII"))
            } else {
                Err(fail(Rule::XmlEncoding, "US-ASCII"))
            }
        }
        "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" => {
            Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
        }
        "windows-1252" | "cp1252" => Ok(Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect())),
        _ => Err(fail(Rule::UnsupportedEncoding, &declared)),
    }
}

fn decode_utf16(bytes: &[u8], combine: fn([u8; 2]) -> u16) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units = bytes.chunks_exact(2).map(|pair| combine([pair[0], pair[1]]));
    char::decode_utf16(units).collect::<Result<String, _>>().ok()
}

/// The `encoding` pseudo-attribute of the XML declaration, if the document starts with one.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.strip_prefix(b"<?xml")?;
    let end = head.windows(2).take(512).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(&head[..end]).ok()?;
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(value[..value.find(quote)?].to_string())
}

/// Windows-1252, which senders often label ISO-8859-1; it differs only in 0x80..=0x9F.
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•',
        '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
    ];
    if (0x80..=0x9F).contains(&byte) { HIGH[usize::from(byte - 0x80)] } else { char::from(byte) }
}

/// Appends `text` escaped for element content; characters XML cannot carry become U+FFFD, and carriage returns
/// become `&#13;` so that a reader's line-end normalisation gives them back.
pub(crate) fn escape_text_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// Appends `text` escaped for a double-quoted attribute value, keeping tabs and line ends through normalisation.
pub(crate) fn escape_attribute_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// A small indenting writer for the documents this crate emits.
#[derive(Debug)]
pub(crate) struct Writer {
    pub out: String,
    depth: usize,
}

impl Writer {
    /// A writer that has written the XML declaration.
    pub fn new() -> Self {
        Self { out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), depth: 0 }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    /// Opens `<name attr="value" …>` on its own line.
    pub fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_attribute_into(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push_str(">\n");
        self.depth += 1;
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// Writes `<name>text</name>` on one line.
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_with(name, &[], text);
    }

    /// Writes `<name attr="value">text</name>` on one line.
    pub fn leaf_with(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_attribute_into(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push('>');
        escape_text_into(&mut self.out, text);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// Writes an element carried through unchanged, declaring its namespaces on itself, on its own line.
    /// `default_namespace` is the default namespace in scope where it is written.
    pub fn foreign(&mut self, element: &XmlElement, default_namespace: Option<&str>) {
        self.indent();
        write_foreign(&mut self.out, element, default_namespace);
        self.out.push('\n');
    }
}

/// Writes an `XmlElement` exactly: no indentation is added, so its text children come back as they were.
fn write_foreign(out: &mut String, element: &XmlElement, default_namespace: Option<&str>) {
    out.push('<');
    out.push_str(&element.name);
    if element.namespace.as_deref() != default_namespace {
        out.push_str(" xmlns=\"");
        escape_attribute_into(out, element.namespace.as_deref().unwrap_or(""));
        out.push('"');
    }
    let mut declared: Vec<&str> = Vec::new();
    for attribute in &element.attributes {
        out.push(' ');
        match attribute.namespace.as_deref() {
            None => {}
            Some(XML_NAMESPACE) => out.push_str("xml:"),
            Some(namespace) => {
                let index = match declared.iter().position(|d| *d == namespace) {
                    Some(index) => index,
                    None => {
                        declared.push(namespace);
                        out.push_str(&format!("xmlns:a{}=\"", declared.len() - 1));
                        escape_attribute_into(out, namespace);
                        out.push_str("\" ");
                        declared.len() - 1
                    }
                };
                out.push_str(&format!("a{index}:"));
            }
        }
        out.push_str(&attribute.name);
        out.push_str("=\"");
        escape_attribute_into(out, &attribute.value);
        out.push('"');
    }
    if element.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &element.children {
        match child {
            XmlContent::Element(inner) => write_foreign(out, inner, element.namespace.as_deref()),
            XmlContent::Text(text) => escape_text_into(out, text),
        }
    }
    out.push_str("</");
    out.push_str(&element.name);
    out.push('>');
}

/// Serialises an `XmlElement` on its own, declaring its namespace (used by the JSON form of signatures).
pub(crate) fn foreign_to_string(element: &XmlElement) -> String {
    let mut out = String::new();
    write_foreign(&mut out, element, None);
    out
}

/// Reads one element back from `foreign_to_string`'s output.
pub(crate) fn foreign_from_str(text: &str) -> Result<XmlElement, Finding> {
    read_document(text.as_bytes()).map(|node| node.to_xml_element())
}
