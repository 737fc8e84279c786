//! A bounded walk over Thrift compact structs, the encoding of Parquet's footer, page index and
//! page headers. The writer finds its page boundaries with it (`pages`); the reader checks,
//! with it, every footer and page index before the parquet crate parses them (`tail`): the
//! walk's work is bounded by the bytes, and it refuses collections of booleans (none in a
//! silt file but a column index's `null_pages`), which the parquet crate skips without
//! consuming bytes, so a damaged count there would have it loop for billions of rounds.

/// Nesting deeper than this is not Parquet metadata (the footer nests about ten deep).
const DEPTH_MAX: usize = 32;

/// Why a walk stopped.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Error {
    /// The bytes end inside the struct.
    Short,
    /// Not a Thrift struct of Parquet metadata.
    Invalid(&'static str),
}

/// A value the walk reports to its caller: only the integers of the top-level struct.
pub(super) enum Value {
    /// An i16, i32 or i64 field.
    Int(i64),
    /// Any other field.
    Other,
}

/// Walks the struct at the start of `bytes`, reporting each top-level field to `field`;
/// returns the struct's length. `bool_list` names the one top-level field that may be a list
/// of booleans.
pub(super) fn read_struct(
    bytes: &[u8],
    bool_list: Option<i16>,
    mut field: impl FnMut(i16, Value),
) -> Result<usize, Error> {
    let mut walk = Walk { bytes, at: 0 };
    let mut last = 0i16;
    loop {
        let byte = walk.byte()?;
        if byte == 0 {
            return Ok(walk.at);
        }
        last = walk.field_id(byte, last)?;
        let kind = byte & 0x0f;
        match kind {
            4..=6 => field(last, Value::Int(walk.zigzag()?)),
            9 | 10 if Some(last) == bool_list => {
                walk.list(0, true)?;
                field(last, Value::Other);
            }
            _ => {
                walk.skip(kind, 0)?;
                field(last, Value::Other);
            }
        }
    }
}

/// Checks that `bytes` start with a whole struct (see [`read_struct`]).
pub(super) fn check_struct(bytes: &[u8], bool_list: Option<i16>) -> Result<(), String> {
    match read_struct(bytes, bool_list, |_, _| ()) {
        Ok(_) => Ok(()),
        Err(Error::Short) => Err("its Thrift ends early".into()),
        Err(Error::Invalid(why)) => Err(format!("not Thrift metadata: {why}")),
    }
}

struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Walk<'_> {
    fn field_id(&mut self, byte: u8, last: i16) -> Result<i16, Error> {
        match byte >> 4 {
            0 => i16::try_from(self.zigzag()?).map_err(|_| Error::Invalid("field id")),
            delta => Ok(last.wrapping_add(i16::from(delta))),
        }
    }

    fn skip(&mut self, kind: u8, depth: usize) -> Result<(), Error> {
        if depth > DEPTH_MAX {
            return Err(Error::Invalid("nested too deep"));
        }
        match kind {
            1 | 2 => Ok(()), // a boolean field's value is in its header
            3 => self.take(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.take(8),
            8 => {
                let len = usize::try_from(self.varint()?).map_err(|_| Error::Short)?;
                self.take(len)
            }
            9 | 10 => self.list(depth, false),
            11 => self.map(depth),
            12 => self.skip_struct(depth),
            _ => Err(Error::Invalid("unknown type")),
        }
    }

    fn list(&mut self, depth: usize, bools: bool) -> Result<(), Error> {
        let header = self.byte()?;
        let len = match header >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        let kind = header & 0x0f;
        if len == 0 {
            return Ok(());
        }
        match kind {
            // A boolean element is a whole byte.
            1 | 2 if bools => self.take(usize::try_from(len).map_err(|_| Error::Short)?),
            1 | 2 => Err(Error::Invalid("a list of booleans")),
            _ => (0..len).try_for_each(|_| self.skip(kind, depth + 1)),
        }
    }

    fn map(&mut self, depth: usize) -> Result<(), Error> {
        let len = self.varint()?;
        if len == 0 {
            return Ok(());
        }
        let kinds = self.byte()?;
        let (key, value) = (kinds >> 4, kinds & 0x0f);
        if matches!(key, 1 | 2) || matches!(value, 1 | 2) {
            return Err(Error::Invalid("a map of booleans"));
        }
        (0..len).try_for_each(|_| {
            self.skip(key, depth + 1)?;
            self.skip(value, depth + 1)
        })
    }

    fn skip_struct(&mut self, depth: usize) -> Result<(), Error> {
        let mut last = 0i16;
        loop {
            let byte = self.byte()?;
            if byte == 0 {
                return Ok(());
            }
            last = self.field_id(byte, last)?;
            self.skip(byte & 0x0f, depth + 1)?;
        }
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let byte = *self.bytes.get(self.at).ok_or(Error::Short)?;
        self.at += 1;
        Ok(byte)
    }

    fn take(&mut self, n: usize) -> Result<(), Error> {
        match self.at.checked_add(n) {
            Some(end) if end <= self.bytes.len() => {
                self.at = end;
                Ok(())
            }
            _ => Err(Error::Short),
        }
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Error::Invalid("a varint over 64 bits"))
    }

    fn zigzag(&mut self) -> Result<i64, Error> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A struct whose field 1 is a list of `count` booleans (a varint count), then `body`.
    fn bool_list(count: u64, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0x19, 0xf1];
        let mut n = count;
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(body);
        out.push(0);
        out
    }

    #[test]
    fn booleans_in_a_list_are_refused_outside_null_pages() {
        let bytes = bool_list(3, &[1, 0, 1]);
        assert_eq!(check_struct(&bytes, Some(1)), Ok(()));
        let refused = check_struct(&bytes, None).unwrap_err();
        assert!(refused.contains("a list of booleans"), "{refused}");
        let nested = [0x1c, 0x19, 0xf1, 0x03, 1, 0, 1, 0, 0];
        assert!(
            check_struct(&nested, Some(1)).is_err(),
            "only at the top level"
        );
    }

    #[test]
    fn counts_beyond_the_bytes_end_the_walk_early() {
        // Two billion booleans, or structs, claimed by a few bytes: the walk stops at the end.
        assert_eq!(
            check_struct(&bool_list(1 << 31, &[]), Some(1)),
            Err("its Thrift ends early".into())
        );
        let structs = [0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0, 0];
        assert_eq!(
            check_struct(&structs, None),
            Err("its Thrift ends early".into())
        );
        let string = [0x18, 0xff, 0xff, 0xff, 0xff, 0x0f, b'a'];
        assert_eq!(
            check_struct(&string, None),
            Err("its Thrift ends early".into())
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = vec![0x1c; 40];
        deep.extend(vec![0; 41]);
        let refused = check_struct(&deep, None).unwrap_err();
        assert!(refused.contains("nested too deep"), "{refused}");
    }
}
