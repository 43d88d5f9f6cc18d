//! Ids and distances as 40 hex digits: `Debug`, `Display`, `LowerHex` and `FromStr`.

use super::{Distance, ID_LEN, Id};
use core::fmt;
use core::str::FromStr;

/// Writes `bytes` as lowercase hex through [`fmt::Formatter::pad`] (so width, fill and
/// precision apply) or, for `{:#x}`, through `pad_integral` with a `0x` prefix.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8; ID_LEN], integral: bool) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; ID_LEN * 2];
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        for (out, nibble) in pair.iter_mut().zip([b >> 4, b & 0xf]) {
            *out = DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
        }
    }
    let s = core::str::from_utf8(&buf).map_err(|_| fmt::Error)?;
    if integral {
        f.pad_integral(true, "0x", s)
    } else {
        f.pad(s)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, false)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, false)
    }
}

impl fmt::LowerHex for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, true)
    }
}

impl fmt::Debug for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, false)
    }
}

impl fmt::LowerHex for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, true)
    }
}

/// Why a string is not an [`Id`]: it must be exactly 40 hex digits.
///
/// ```
/// use btdht::{Id, id::ParseIdError};
/// assert_eq!("abc".parse::<Id>(), Err(ParseIdError::Length));
/// assert_eq!("g".repeat(40).parse::<Id>(), Err(ParseIdError::NotHex));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseIdError {
    /// Not 40 bytes long.
    Length,
    /// A character that is not a hex digit.
    NotHex,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseIdError::Length => "an id must be exactly 40 hex digits long",
            ParseIdError::NotHex => "an id must contain only hex digits",
        })
    }
}

impl core::error::Error for ParseIdError {}

/// The value of one hex digit.
const fn nibble(c: u8) -> Result<u8, ParseIdError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(ParseIdError::NotHex),
    }
}

impl FromStr for Id {
    type Err = ParseIdError;

    /// Parses exactly 40 hex digits, either case, with no prefix or whitespace.
    fn from_str(s: &str) -> Result<Id, ParseIdError> {
        let Ok(digits) = <&[u8; ID_LEN * 2]>::try_from(s.as_bytes()) else {
            return Err(ParseIdError::Length);
        };
        let mut out = [0u8; ID_LEN];
        for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let &[hi, lo] = pair else {
                return Err(ParseIdError::Length);
            };
            *o = (nibble(hi)? << 4) | nibble(lo)?;
        }
        Ok(Id(out))
    }
}
