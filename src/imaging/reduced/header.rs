//! The marker segments of a baseline JPEG, read up to its first scan: frame, quantization and
//! Huffman tables, restart interval. Anything the reduced decoder does not handle reads as
//! `None`, and the caller hands the file to libjpeg-turbo.

use super::huffman::HuffTable;
use crate::imaging::jpeg;

/// Natural (row-major) position of each zigzag index.
pub const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// One colour component of the frame, with the tables its first scan uses.
pub struct Component {
    /// Horizontal sampling factor.
    pub h: usize,
    /// Vertical sampling factor.
    pub v: usize,
    /// Quantization table, zigzag order.
    pub quant: [u16; 64],
    /// DC Huffman table index.
    pub dc: usize,
    /// AC Huffman table index.
    pub ac: usize,
}

/// What the decoder needs from the header.
pub struct Header<'a> {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// One (grayscale) or three (YCbCr) components, in scan order.
    pub components: Vec<Component>,
    /// DC Huffman tables by index.
    pub dc_tables: [Option<HuffTable>; 4],
    /// AC Huffman tables by index.
    pub ac_tables: [Option<HuffTable>; 4],
    /// MCUs between restart markers, 0 for none.
    pub restart_interval: usize,
    /// The entropy-coded data of the first scan and everything after it.
    pub scan: &'a [u8],
}

/// Reads the header of a single-scan baseline JPEG in YCbCr or grayscale whose chroma is not
/// subsampled more than twice per axis; `None` for anything else or anything malformed.
pub fn parse(bytes: &[u8]) -> Option<Header<'_>> {
    let mut frame: Option<Frame> = None;
    let mut quant: [Option<[u16; 64]>; 4] = [None; 4];
    let mut dc_tables: [Option<HuffTable>; 4] = Default::default();
    let mut ac_tables: [Option<HuffTable>; 4] = Default::default();
    let mut restart_interval = 0;
    for segment in jpeg::header_segments(bytes) {
        if segment.end > bytes.len() {
            return None;
        }
        let payload = segment.payload;
        match segment.marker {
            0xC0 | 0xC1 => frame = Some(read_frame(payload)?),
            0xC2..=0xCF if !matches!(segment.marker, 0xC4 | 0xC8 | 0xCC) => return None,
            0xC4 => read_huffman(payload, &mut dc_tables, &mut ac_tables)?,
            0xDB => read_quant(payload, &mut quant)?,
            0xDD if payload.len() == 2 => {
                restart_interval = usize::from(u16::from_be_bytes([payload[0], payload[1]]))
            }
            0xE0 if payload.starts_with(b"JFIF\0") && payload.get(5) != Some(&1) => return None,
            0xEE if payload.starts_with(b"Adobe") && payload.get(11) == Some(&0) => return None,
            0xDA => {
                let Frame {
                    width,
                    height,
                    components: frame_components,
                } = frame?;
                let components = read_scan(payload, &frame_components, &quant)?;
                if components
                    .iter()
                    .any(|c| dc_tables[c.dc].is_none() || ac_tables[c.ac].is_none())
                {
                    return None;
                }
                return Some(Header {
                    width,
                    height,
                    components,
                    dc_tables,
                    ac_tables,
                    restart_interval,
                    scan: bytes.get(segment.end..)?,
                });
            }
            0xE0..=0xEF | 0xFE => {}
            _ => return None,
        }
    }
    None
}

/// A frame component: identifier, sampling factors, quantization table index.
type FrameComponent = (u8, usize, usize, usize);

/// What the start-of-frame segment says.
struct Frame {
    width: usize,
    height: usize,
    components: Vec<FrameComponent>,
}

fn read_frame(p: &[u8]) -> Option<Frame> {
    if *p.first()? != 8 {
        return None;
    }
    let height = usize::from(u16::from_be_bytes([*p.get(1)?, *p.get(2)?]));
    let width = usize::from(u16::from_be_bytes([*p.get(3)?, *p.get(4)?]));
    let count = usize::from(*p.get(5)?);
    if width == 0 || height == 0 || !(count == 1 || count == 3) {
        return None;
    }
    let mut components = Vec::with_capacity(count);
    for i in 0..count {
        let c = p.get(6 + 3 * i..9 + 3 * i)?;
        let (h, v, tq) = (
            usize::from(c[1] >> 4),
            usize::from(c[1] & 15),
            usize::from(c[2]),
        );
        if tq > 3 {
            return None;
        }
        components.push((c[0], h, v, tq));
    }
    if count == 3 {
        let ids: Vec<u8> = components.iter().map(|c| c.0).collect();
        let luma_ok = (1..=2).contains(&components[0].1) && (1..=2).contains(&components[0].2);
        let chroma_ok = components[1..].iter().all(|c| c.1 == 1 && c.2 == 1);
        if ids == b"RGB" || !luma_ok || !chroma_ok {
            return None;
        }
    } else {
        // A lone component is coded non-interleaved: its sampling factors do not matter.
        components[0].1 = 1;
        components[0].2 = 1;
    }
    Some(Frame {
        width,
        height,
        components,
    })
}

fn read_huffman(
    mut p: &[u8],
    dc: &mut [Option<HuffTable>; 4],
    ac: &mut [Option<HuffTable>; 4],
) -> Option<()> {
    while !p.is_empty() {
        let class = p[0] >> 4;
        let index = usize::from(p[0] & 15);
        let counts: [u8; 16] = p.get(1..17)?.try_into().ok()?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = p.get(17..17 + total)?;
        if index > 3 || total > 256 {
            return None;
        }
        match class {
            0 => dc[index] = Some(HuffTable::build(&counts, values, false)?),
            1 => ac[index] = Some(HuffTable::build(&counts, values, true)?),
            _ => return None,
        }
        p = &p[17 + total..];
    }
    Some(())
}

fn read_quant(mut p: &[u8], quant: &mut [Option<[u16; 64]>; 4]) -> Option<()> {
    while !p.is_empty() {
        let precision = p[0] >> 4;
        let index = usize::from(p[0] & 15);
        if index > 3 {
            return None;
        }
        let mut table = [0u16; 64];
        let used = match precision {
            0 => {
                for (t, &b) in table.iter_mut().zip(p.get(1..65)?) {
                    *t = u16::from(b);
                }
                65
            }
            1 => {
                for (t, b) in table.iter_mut().zip(p.get(1..129)?.chunks_exact(2)) {
                    *t = u16::from_be_bytes([b[0], b[1]]);
                }
                129
            }
            _ => return None,
        };
        quant[index] = Some(table);
        p = &p[used..];
    }
    Some(())
}

fn read_scan(
    p: &[u8],
    frame: &[FrameComponent],
    quant: &[Option<[u16; 64]>; 4],
) -> Option<Vec<Component>> {
    let count = usize::from(*p.first()?);
    if count != frame.len()
        || p.len() != 4 + 2 * count
        || p.get(1 + 2 * count..4 + 2 * count)? != [0, 63, 0]
    {
        return None;
    }
    let mut components = Vec::with_capacity(count);
    for (i, &(id, h, v, tq)) in frame.iter().enumerate() {
        let s = p.get(1 + 2 * i..3 + 2 * i)?;
        let (dc, ac) = (usize::from(s[1] >> 4), usize::from(s[1] & 15));
        if s[0] != id || dc > 3 || ac > 3 {
            return None;
        }
        components.push(Component {
            h,
            v,
            quant: quant[tq]?,
            dc,
            ac,
        });
    }
    Some(components)
}
