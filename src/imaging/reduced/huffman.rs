//! Entropy decoding of baseline JPEG blocks. Each restart interval is first copied out of the
//! file with its 0xFF00 stuffing removed, so the bit reader refills without a branch; a 10-bit
//! look-up gives a code's symbol, its length, and the length of code plus value bits, so the
//! reader moves on from one look-up while the value is extracted beside it.

/// Bits the look-up tables cover.
const LOOKAHEAD: u32 = 10;

/// Zero bytes after an interval's data: the reader may load 8 bytes from up to 16 past its end.
const PADDING: usize = 32;

/// A canonical Huffman table.
pub struct HuffTable {
    /// For every code of at most LOOKAHEAD bits: size << 12 | run << 8 | code length + size.
    /// 0 for longer codes.
    lookup: Box<[u16; 1 << LOOKAHEAD]>,
    /// Largest code of each length, -1 for none.
    max_code: [i32; 17],
    /// Index into `values` minus the first code, per length.
    offset: [i32; 17],
    values: Vec<u8>,
    /// Whether symbols are run << 4 | size (AC) or a size alone (DC).
    ac: bool,
}

impl HuffTable {
    /// Builds the table from a DHT segment's counts per length and symbols; `None` when the
    /// counts do not describe a prefix code, or a symbol stands for more value bits than an
    /// 8-bit JPEG has (11 for DC, 10 for AC): a code and its value then take at most 27 bits.
    pub fn build(counts: &[u8; 16], values: &[u8], ac: bool) -> Option<Self> {
        let too_long = |&s: &u8| if ac { s & 15 > 10 } else { s > 11 };
        if values.iter().any(too_long) {
            return None;
        }
        let mut table = Self {
            lookup: Box::new([0u16; 1 << LOOKAHEAD]),
            max_code: [-1i32; 17],
            offset: [0i32; 17],
            values: values.to_vec(),
            ac,
        };
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            table.offset[len as usize] = k as i32 - code as i32;
            for _ in 0..n {
                if code >= 1 << len {
                    return None;
                }
                if len <= LOOKAHEAD {
                    let shift = LOOKAHEAD - len;
                    let base = (code << shift) as usize;
                    let entry = table.entry(values[k], len);
                    table.lookup[base..base + (1 << shift)].fill(entry);
                }
                code += 1;
                k += 1;
            }
            if n > 0 {
                table.max_code[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        Some(table)
    }

    /// The look-up entry of `symbol` coded in `len` bits.
    fn entry(&self, symbol: u8, len: u32) -> u16 {
        let (run, size) = if self.ac {
            (u32::from(symbol >> 4), u32::from(symbol & 15))
        } else {
            (0, u32::from(symbol))
        };
        (size << 12 | run << 8 | (len + size)) as u16
    }

    /// The entry of the code at the top of `bits`; `None` for a pattern that is no code.
    #[inline(always)]
    fn decode(&self, bits: u64) -> Option<u16> {
        let entry = self.lookup[(bits >> (64 - LOOKAHEAD)) as usize];
        if entry != 0 {
            return Some(entry);
        }
        self.decode_long((bits >> 48) as u32)
    }

    /// The entry of a code longer than the look-up, from its first 16 bits.
    #[inline(never)]
    fn decode_long(&self, code16: u32) -> Option<u16> {
        for len in LOOKAHEAD + 1..=16 {
            let code = (code16 >> (16 - len)) as i32;
            if code <= self.max_code[len as usize] {
                let index = usize::try_from(self.offset[len as usize] + code).ok()?;
                return Some(self.entry(*self.values.get(index)?, len));
            }
        }
        None
    }
}

/// The bits of one restart interval (or a whole scan without restarts), unstuffed, and a
/// reader over them.
pub struct Bits {
    /// The interval's bytes, then [`PADDING`] zeros.
    data: Vec<u8>,
    /// Length of the interval's bytes.
    len: usize,
    /// Bytes loaded into `buf`.
    pos: usize,
    /// Buffered bits, most significant first; those below `count` are the next bytes again.
    buf: u64,
    /// How many bits of `buf` are valid.
    count: u32,
}

impl Bits {
    /// An empty reader.
    pub fn new() -> Self {
        Self {
            data: Vec::new(),
            len: 0,
            pos: 0,
            buf: 0,
            count: 0,
        }
    }

    /// Loads the entropy-coded bytes that start `scan` up to the first marker (or the end),
    /// unstuffed; returns where that marker starts.
    pub fn load(&mut self, scan: &[u8]) -> usize {
        self.data.clear();
        let mut p = 0;
        loop {
            let Some(i) = memchr::memchr(0xFF, &scan[p..]) else {
                self.data.extend_from_slice(&scan[p..]);
                p = scan.len();
                break;
            };
            self.data.extend_from_slice(&scan[p..p + i]);
            p += i;
            if scan.get(p + 1) != Some(&0) {
                break;
            }
            self.data.push(0xFF);
            p += 2;
        }
        self.len = self.data.len();
        self.data.resize(self.len + PADDING, 0);
        self.pos = 0;
        self.buf = 0;
        self.count = 0;
        p
    }

    /// Whether decoding used more bits than the interval holds.
    pub fn overran(&self) -> bool {
        self.pos * 8 - self.count as usize > self.len * 8 || self.pos >= self.len + 16
    }

    /// Whether decoding used the interval exactly: all its bits but the padding of the last
    /// byte. Bytes left over mean damaged data, which libjpeg reports as extraneous.
    pub fn used_up(&self) -> bool {
        !self.overran() && self.len * 8 - (self.pos * 8 - self.count as usize) < 8
    }
}

/// The reading state of [`Bits`], copied out for a block so that it lives in registers.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    data: &'a [u8],
    limit: usize,
    pos: usize,
    buf: u64,
    count: u32,
}

impl Cursor<'_> {
    /// Tops the buffer up to at least 56 bits, without a branch on the data.
    #[inline(always)]
    fn refill(&mut self) {
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.buf |= u64::from_be_bytes(word) >> self.count;
        }
        self.pos = (self.pos + ((63 - self.count) >> 3) as usize).min(self.limit);
        self.count |= 56;
    }

    /// Takes the code at the top of the buffer and the value bits after it: the entry and the
    /// value. Needs 27 bits buffered: a refill guarantees two takes.
    #[inline(always)]
    fn take(&mut self, table: &HuffTable) -> Option<(u16, i32)> {
        let entry = table.decode(self.buf)?;
        let (total, size) = (u32::from(entry & 63), u32::from(entry >> 12));
        let len = total - size;
        let raw = ((self.buf << len) >> 1) >> (63 - size);
        let half = (1u64 << size) >> 1;
        let negative = ((raw.wrapping_sub(half)) as i64 >> 63) as i32;
        let value = raw as i32 + (negative & (1 - (1i32 << size)));
        self.buf <<= total;
        self.count -= total;
        Some((entry, value))
    }
}

/// Decodes one block, adding each coefficient's `basis` entry times its value to the
/// block's samples, which it returns; `None` for data that is no valid block.
#[inline(always)]
pub fn decode_block<const N: usize>(
    bits: &mut Bits,
    dc: &HuffTable,
    ac: &HuffTable,
    predictor: &mut i32,
    basis: &[[f32; N]; 80],
) -> Option<[f32; N]> {
    let mut cursor = Cursor {
        data: &bits.data,
        limit: bits.len + 16,
        pos: bits.pos,
        buf: bits.buf,
        count: bits.count,
    };
    let c = &mut cursor;
    c.refill();
    let (_, diff) = c.take(dc)?;
    *predictor = predictor.wrapping_add(diff);
    let mut samples = [0f32; N];
    let dc = *predictor as f32;
    for (s, b) in samples.iter_mut().zip(&basis[0]) {
        *s = dc * b;
    }
    let mut k = 1usize;
    loop {
        let (entry, value) = c.take(ac)?;
        if !add(&mut samples, &mut k, entry, value, basis) {
            break;
        }
        c.refill();
        let (entry, value) = c.take(ac)?;
        if !add(&mut samples, &mut k, entry, value, basis) {
            break;
        }
    }
    bits.pos = cursor.pos;
    bits.buf = cursor.buf;
    bits.count = cursor.count;
    (k <= 64).then_some(samples)
}

/// Adds an AC coefficient (its run of zeros in `entry`) at zigzag index `k` and after, and
/// moves `k` past it; whether the block goes on. A symbol of size 0 ends the block unless its
/// run is 15 (sixteen zeros), as T.81 F.2.2.2 has it.
#[inline(always)]
fn add<const N: usize>(
    samples: &mut [f32; N],
    k: &mut usize,
    entry: u16,
    value: i32,
    basis: &[[f32; N]; 80],
) -> bool {
    let run = usize::from((entry >> 8) & 15);
    if entry >> 12 == 0 && run != 15 {
        return false;
    }
    *k += run;
    let value = value as f32;
    for (s, b) in samples.iter_mut().zip(&basis[(*k).min(79)]) {
        *s += value * b;
    }
    *k += 1;
    *k < 64
}
