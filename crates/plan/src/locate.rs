//! Where a path of a plan document (`matrix[3].lead.member_role`) lies in its text, so that the plan editor can put
//! a linter finding on its line. The scan reads JSON just enough to follow the path; it never fails, and on a path
//! that does not exist it answers with the deepest part that does.

/// A position in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum Segment<'p> {
    Key(&'p str),
    Index(usize),
}

fn segments(path: &str) -> Option<Vec<Segment<'_>>> {
    let mut segments = Vec::new();
    for part in path.split('.').filter(|part| !part.is_empty()) {
        let (key, mut rest) = part.split_once('[').map(|(key, rest)| (key, Some(rest))).unwrap_or((part, None));
        if !key.is_empty() {
            segments.push(Segment::Key(key));
        }
        while let Some(text) = rest {
            let (number, after) = text.split_once(']')?;
            segments.push(Segment::Index(number.parse().ok()?));
            rest = after.strip_prefix('[');
        }
    }
    Some(segments)
}

/// The deepest nesting followed; deeper documents are not plans (the parser refuses them earlier).
const MAX_DEPTH: usize = 256;

struct Scanner<'t> {
    bytes: &'t [u8],
    at: usize,
}

impl Scanner<'_> {
    fn skip_whitespace(&mut self) {
        while self.at < self.bytes.len() && matches!(self.bytes[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Reads a string starting at a quote; returns its raw contents (escapes are not decoded: keys of a plan have none).
    fn string(&mut self) -> Option<&[u8]> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.at += 1;
        let start = self.at;
        while self.at < self.bytes.len() {
            match self.bytes[self.at] {
                b'\\' => self.at += 2,
                b'"' => {
                    let contents = &self.bytes[start..self.at];
                    self.at += 1;
                    return Some(contents);
                }
                _ => self.at += 1,
            }
        }
        None
    }

    /// Skips one value of any kind.
    fn skip_value(&mut self) -> Option<()> {
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                while let Some(byte) = self.peek() {
                    match byte {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
                None
            }
            _ => {
                while let Some(byte) = self.peek() {
                    if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.at += 1;
                }
                Some(())
            }
        }
    }

    /// Follows `path` from the value at the cursor; returns the offset of the deepest value reached.
    fn follow(&mut self, path: &[Segment<'_>], depth: usize) -> Option<usize> {
        self.skip_whitespace();
        let start = self.at;
        let Some(first) = path.first() else { return Some(start) };
        // Wherever the text stops making sense, the answer is the value being followed.
        macro_rules! or_here {
            ($value:expr) => {
                match $value {
                    Some(value) => value,
                    None => return Some(start),
                }
            };
        }
        if depth > MAX_DEPTH {
            return Some(start);
        }
        match (or_here!(self.peek()), first) {
            (b'{', Segment::Key(wanted)) => {
                self.at += 1;
                loop {
                    self.skip_whitespace();
                    if or_here!(self.peek()) == b'}' {
                        return Some(start);
                    }
                    let key = or_here!(self.string());
                    let matched = key == wanted.as_bytes();
                    self.skip_whitespace();
                    if or_here!(self.peek()) != b':' {
                        return Some(start);
                    }
                    self.at += 1;
                    if matched {
                        return self.follow(&path[1..], depth + 1).or(Some(start));
                    }
                    or_here!(self.skip_value());
                    self.skip_whitespace();
                    if or_here!(self.peek()) == b',' {
                        self.at += 1;
                    }
                }
            }
            (b'[', Segment::Index(wanted)) => {
                self.at += 1;
                let mut index = 0;
                loop {
                    self.skip_whitespace();
                    if or_here!(self.peek()) == b']' {
                        return Some(start);
                    }
                    if index == *wanted {
                        return self.follow(&path[1..], depth + 1).or(Some(start));
                    }
                    or_here!(self.skip_value());
                    self.skip_whitespace();
                    if or_here!(self.peek()) == b',' {
                        self.at += 1;
                    }
                    index += 1;
                }
            }
            _ => Some(start),
        }
    }
}

/// The position of the value at `path` in `text`, or of the deepest part of the path that exists (or that the text
/// reaches before it stops making sense). An empty path is the document itself. `None` only when `path` is not a path.
pub fn locate(text: &str, path: &str) -> Option<Position> {
    let segments = segments(path)?;
    let mut scanner = Scanner { bytes: text.as_bytes(), at: 0 };
    let offset = scanner.follow(&segments, 0)?.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Some(Position { line, column })
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
