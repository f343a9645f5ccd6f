//! The inverse DCT at reduced size, N = 1, 2 or 4 samples per axis of an 8 x 8 block, each the
//! mean of the 8/N samples the full IDCT would give over its cell (libjpeg's reduced IDCTs
//! compute the same means).
//!
//! Per axis, the mean over cells of 8/N samples of the 8-point basis u is the N-point basis
//! u mod N (up to sign) times a constant, so the 8 coefficients fold into N and an N-point
//! IDCT finishes: N = 4 uses every coefficient but the 4th, N = 2 the odd ones and the DC.
//!
//! The transform is linear, and most coefficients of a block are zero, so it is applied
//! coefficient by coefficient as it is decoded: each adds its value times its basis (what a
//! unit coefficient there gives at every output sample, dequantization included) to the
//! block's samples.

use super::header::ZIGZAG;

const HALF_SQRT2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// cos(pi/8) and cos(3pi/8).
const C1: f32 = 0.923_879_5;
const S1: f32 = 0.382_683_43;
/// N = 4: coefficient u' and 8 - u' fold into u' with these weights, u' = 1, 2, 3.
const FOLD4: [(f32, f32); 3] = [
    (0.980_785_3, -0.195_090_32),
    (0.923_879_5, -0.382_683_43),
    (0.831_469_6, -0.555_570_24),
];
/// N = 2: coefficients 1, 3, 5, 7 fold into 1 with these weights.
const FOLD2: [f32; 4] = [0.906_127_45, -0.318_189_65, 0.212_607_52, -0.180_239_96];

/// The output samples of an `NH` x `NV` block (row by row, `N` = `NH` x `NV`) that each
/// quantized coefficient gives, by zigzag index, for the quantization table `quant` (zigzag
/// order); 16 zero entries follow for the indexes a corrupt run can reach.
pub fn basis<const N: usize, const NH: usize>(quant: &[u16; 64]) -> Box<[[f32; N]; 80]> {
    let nv = N / NH;
    let mut basis = Box::new([[0f32; N]; 80]);
    for (k, samples) in basis.iter_mut().take(64).enumerate() {
        let natural = usize::from(ZIGZAG[k]);
        let (row, col) = (natural / 8, natural % 8);
        let (vertical, horizontal) = (weights(nv, row), weights(NH, col));
        let scale = f32::from(quant[k]) * 0.25;
        for (i, sample) in samples.iter_mut().enumerate() {
            *sample = scale * vertical[i / NH] * horizontal[i % NH];
        }
    }
    basis
}

/// Writes a block's samples, level shifted and clamped, at (`x`, `y`) of `plane`, whose rows
/// are `stride` bytes apart.
#[inline(always)]
pub fn put<const N: usize, const NH: usize>(
    samples: &[f32; N],
    plane: &mut [u8],
    stride: usize,
    x: usize,
    y: usize,
) {
    for (r, row) in samples.chunks_exact(NH).enumerate() {
        let at = (y + r) * stride + x;
        for (out, value) in plane[at..at + NH].iter_mut().zip(row) {
            *out = (value + 128.5) as u8;
        }
    }
}

/// The `n` output samples of one axis for a unit coefficient at `u`.
fn weights(n: usize, u: usize) -> [f32; 4] {
    let unit = |i: usize| if i == u { 1.0 } else { 0.0 };
    let mut out = [0f32; 4];
    match n {
        1 => out[..1].copy_from_slice(&transform::<1>(unit)),
        2 => out[..2].copy_from_slice(&transform::<2>(unit)),
        _ => out.copy_from_slice(&transform::<4>(unit)),
    }
    out
}

/// Folds the 8 coefficients `f(0..8)` of one axis to N and applies the N-point IDCT.
#[inline(always)]
fn transform<const N: usize>(f: impl Fn(usize) -> f32) -> [f32; N] {
    let mut out = [0f32; N];
    match N {
        1 => out[0] = HALF_SQRT2 * f(0),
        2 => {
            let odd = FOLD2[0] * f(1) + FOLD2[1] * f(3) + FOLD2[2] * f(5) + FOLD2[3] * f(7);
            let pair = [HALF_SQRT2 * (f(0) + odd), HALF_SQRT2 * (f(0) - odd)];
            out.copy_from_slice(&pair[..N]);
        }
        _ => {
            let g1 = FOLD4[0].0 * f(1) + FOLD4[0].1 * f(7);
            let g2 = FOLD4[1].0 * f(2) + FOLD4[1].1 * f(6);
            let g3 = FOLD4[2].0 * f(3) + FOLD4[2].1 * f(5);
            let e0 = HALF_SQRT2 * (f(0) + g2);
            let e1 = HALF_SQRT2 * (f(0) - g2);
            let o0 = C1 * g1 + S1 * g3;
            let o1 = S1 * g1 - C1 * g3;
            out.copy_from_slice(&[e0 + o0, e1 + o1, e1 - o1, e0 - o0][..N]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full 8 x 8 IDCT, straight from its definition, without the 1/4 factor.
    fn full_idct(block: &[i32; 64]) -> [[f32; 8]; 8] {
        let c = |u: usize| if u == 0 { HALF_SQRT2 } else { 1.0 };
        let basis =
            |i: usize, u: usize| (((2 * i + 1) * u) as f32 * std::f32::consts::PI / 16.0).cos();
        let mut out = [[0f32; 8]; 8];
        for (y, row) in out.iter_mut().enumerate() {
            for (x, px) in row.iter_mut().enumerate() {
                for v in 0..8 {
                    for u in 0..8 {
                        *px +=
                            c(u) * c(v) * block[v * 8 + u] as f32 * basis(x, u) * basis(y, v) / 4.0;
                    }
                }
            }
        }
        out
    }

    fn check<const N: usize, const NH: usize>(block: &[i32; 64]) {
        let full = full_idct(block);
        let basis = basis::<N, NH>(&[1; 64]);
        let mut samples = [0f32; N];
        for (k, &natural) in ZIGZAG.iter().enumerate() {
            let value = block[usize::from(natural)] as f32;
            for (s, b) in samples.iter_mut().zip(&basis[k]) {
                *s += value * b;
            }
        }
        let mut plane = [0u8; 16];
        put::<N, NH>(&samples, &mut plane, NH, 0, 0);
        let (cw, ch) = (8 / NH, 8 / (N / NH));
        for y in 0..N / NH {
            for x in 0..NH {
                let mut sum = 0.0;
                for row in &full[y * ch..(y + 1) * ch] {
                    sum += row[x * cw..(x + 1) * cw].iter().sum::<f32>();
                }
                let expected = (sum / (cw * ch) as f32 + 128.5) as u8;
                let got = plane[y * NH + x];
                assert!(
                    got.abs_diff(expected) <= 1,
                    "{NH}x{} ({x},{y}): {got} vs {expected}",
                    N / NH
                );
            }
        }
    }

    /// Each reduced size gives the cell means of the full IDCT, on a block with every
    /// coefficient set.
    #[test]
    fn gives_the_cell_means_of_the_full_idct() {
        let mut block = [0i32; 64];
        for (i, c) in block.iter_mut().enumerate() {
            *c = ((i * 37 % 23) as i32 - 11) * (16 - (i / 8 + i % 8) as i32) / 2;
        }
        block[0] = 150;
        check::<1, 1>(&block);
        check::<4, 2>(&block);
        check::<8, 4>(&block);
        check::<8, 2>(&block);
        check::<16, 4>(&block);
        check::<2, 2>(&block);
        check::<2, 1>(&block);
    }

    /// The entries past the 64 coefficients add nothing.
    #[test]
    fn padding_entries_are_zero() {
        let basis = basis::<8, 4>(&[255; 64]);
        assert!(basis[64..].iter().flatten().all(|&w| w == 0.0));
        assert!(basis[..64].iter().flatten().any(|&w| w != 0.0));
    }
}
