//! The commands that grow a value to a size none of their arguments has: SETRANGE and SETBIT grow a value to
//! their offset in one small command. Used to enforce the per-instance record size limit.

/// How a command grows a value beyond the size of its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// `SETRANGE key offset value`: to `offset + len(value)` bytes.
    SetRange,
    /// `SETBIT key offset value`: to `offset / 8 + 1` bytes.
    SetBit,
    /// `BITFIELD key [SET type offset value] [INCRBY type offset increment]...`: to the end of the furthest
    /// field that SET or INCRBY writes.
    Bitfield,
}

impl Growth {
    /// The size in bytes a value reaches through a command with these `args` (after its name), or `None`
    /// when it grows none (or its arguments are not numbers, which is Redis's to refuse).
    #[must_use]
    pub fn size(self, args: &[Vec<u8>]) -> Option<u64> {
        let number = |i: usize| std::str::from_utf8(args.get(i)?).ok()?.parse::<u64>().ok();
        match self {
            Self::SetRange => Some(number(1)?.saturating_add(args.get(2)?.len() as u64)),
            Self::SetBit => Some(number(1)? / 8 + 1),
            Self::Bitfield => bitfield_end(args),
        }
    }
}

/// `BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment] [OVERFLOW how]`:
/// the byte past the furthest field that SET or INCRBY writes. A type is `i<bits>` or `u<bits>`; an offset
/// is in bits, or `#<n>` for the n-th field of the type's width.
fn bitfield_end(args: &[Vec<u8>]) -> Option<u64> {
    let text = |i: usize| args.get(i).and_then(|a| std::str::from_utf8(a).ok());
    let mut end: Option<u64> = None;
    let mut i = 1;
    while i < args.len() {
        match args[i].to_ascii_lowercase().as_slice() {
            b"set" | b"incrby" => {
                let width: u64 = text(i + 1).and_then(|t| t.get(1..)?.parse().ok()).unwrap_or(0);
                let offset = text(i + 2).and_then(|t| match t.strip_prefix('#') {
                    Some(n) => n.parse::<u64>().ok()?.checked_mul(width),
                    None => t.parse::<u64>().ok(),
                });
                // An offset that does not parse is Redis's to refuse; an unparseably large one is huge.
                let bits = offset.unwrap_or(u64::MAX).saturating_add(width);
                end = end.max(Some(bits.div_ceil(8)));
                i += 4;
            }
            b"get" => i += 3,
            b"overflow" => i += 2,
            _ => i += 1,
        }
    }
    end
}
