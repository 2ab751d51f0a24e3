//! Reading line-oriented input (`ixi-miner hash`, `ixi-verifier verify`) with a bound on a
//! line's length: a longer line is skipped without being held in memory, and answered with an
//! error, so a single huge line costs nothing and the lines after it are still answered.

use std::io::{self, BufRead};

/// One line of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line within the bound, without its line ending.
    Complete(Vec<u8>),
    /// A line longer than the bound; its bytes were read and dropped.
    TooLong {
        /// Its length in bytes.
        bytes: u64,
    },
}

/// The lines of `reader`, each at most `max` bytes.
#[derive(Debug)]
pub struct BoundedLines<R> {
    reader: R,
    max: usize,
}

impl<R: BufRead> BoundedLines<R> {
    /// Lines of at most `max` bytes (line ending excluded).
    pub fn new(reader: R, max: usize) -> Self {
        Self { reader, max }
    }

    /// The error answer for a line past the bound.
    #[must_use]
    pub fn too_long_message(&self, bytes: u64) -> String {
        format!(
            "line of {bytes} bytes is longer than the {} bytes a line may have",
            self.max
        )
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = io::Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Vec::new();
        let mut length: u64 = 0;
        let mut any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(e)),
            };
            if chunk.is_empty() {
                // End of input: a last line without a line ending still counts.
                return any.then(|| Ok(finish(line, length, self.max)));
            }
            any = true;
            let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            length += take as u64;
            if length <= self.max as u64 + 1 {
                // One byte of slack for a '\r' before the '\n'.
                line.extend_from_slice(&chunk[..take]);
            } else if !line.is_empty() {
                line = Vec::new();
            }
            self.reader.consume(take + usize::from(end));
            if end {
                return Some(Ok(finish(line, length, self.max)));
            }
        }
    }
}

fn finish(mut line: Vec<u8>, mut length: u64, max: usize) -> Line {
    if line.last() == Some(&b'\r') && length <= max as u64 + 1 {
        line.pop();
        length -= 1;
    }
    if length > max as u64 {
        Line::TooLong { bytes: length }
    } else {
        Line::Complete(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Line> {
        BoundedLines::new(io::BufReader::with_capacity(7, input), max)
            .collect::<io::Result<_>>()
            .unwrap_or_default()
    }

    #[test]
    fn lines_within_the_bound_come_through_and_longer_ones_are_dropped() {
        let long = vec![b'x'; 50];
        let mut input = b"ab\r\ncd\n".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\n\nlast");
        assert_eq!(
            lines(&input, 10),
            [
                Line::Complete(b"ab".to_vec()),
                Line::Complete(b"cd".to_vec()),
                Line::TooLong { bytes: 50 },
                Line::Complete(Vec::new()),
                Line::Complete(b"last".to_vec()),
            ]
        );
        // Exactly at the bound, with and without a carriage return.
        assert_eq!(
            lines(b"0123456789\n0123456789\r\n01234567890\n", 10),
            [
                Line::Complete(b"0123456789".to_vec()),
                Line::Complete(b"0123456789".to_vec()),
                Line::TooLong { bytes: 11 },
            ]
        );
        assert!(lines(b"", 10).is_empty());
    }
}
