//! A logical line: one instruction's text with continuations joined and comment
//! lines dropped, and a map from its byte offsets back to the physical lines and
//! columns it was assembled from, so every word keeps its exact position.
//!
//! The escape character is fixed when the line is built ([`Logical::new`]): it is
//! the one the parser directives set before the line was read.

use super::Position;

/// One piece of a logical line: the text from `offset` on was copied from
/// physical line `line`, starting at character column `column`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

/// A line as the instruction parser sees it: continuations joined, comments out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Logical {
    pub text: String,
    pub segments: Vec<Segment>,
    pub start_line: usize,
    pub end_line: usize,
    /// The escape character in force for this line.
    pub escape: char,
    /// Characters before each byte offset; empty when the text is ASCII.
    pub char_counts: Vec<usize>,
}

impl Logical {
    /// An empty line starting at physical line `line`, read with `escape`.
    pub(crate) fn new(line: usize, escape: char) -> Logical {
        Logical {
            text: String::new(),
            segments: Vec::new(),
            start_line: line,
            end_line: line,
            escape,
            char_counts: Vec::new(),
        }
    }

    /// The position of the character at byte `offset` of `text`.
    pub fn position(&self, offset: usize) -> Position {
        let index = self.segments.partition_point(|s| s.offset <= offset).saturating_sub(1);
        let Some(segment) = self.segments.get(index) else {
            return Position { line: self.start_line, column: 1 };
        };
        let end = floor_char_boundary(&self.text, offset.max(segment.offset));
        let start = floor_char_boundary(&self.text, segment.offset);
        let chars = if self.char_counts.is_empty() {
            end - start
        } else {
            self.char_counts[end] - self.char_counts[start]
        };
        Position { line: segment.line, column: segment.column + chars }
    }

    /// Prepares column lookups: for a non-ASCII line, the number of characters before
    /// each byte offset, so that every position costs the same on long lines.
    pub(crate) fn finish(&mut self) {
        if self.text.is_ascii() {
            return;
        }
        let mut counts = Vec::with_capacity(self.text.len() + 1);
        let mut chars = 0;
        for (at, _) in self.text.char_indices() {
            counts.resize(at, chars);
            counts.push(chars);
            chars += 1;
        }
        counts.resize(self.text.len() + 1, chars);
        self.char_counts = counts;
    }

    pub(crate) fn push(&mut self, piece: &str, line: usize, column: usize) {
        self.segments.push(Segment { offset: self.text.len(), line, column });
        self.text.push_str(piece);
        self.end_line = line;
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
