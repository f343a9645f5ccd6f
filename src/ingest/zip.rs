//! Zip archives of a multipart upload, read under one budget per request: the file entries of
//! all archives together, and the bytes they really inflate to (declared sizes are not
//! trusted). Every archive is measured before anything of the request is stored, then read
//! one entry at a time, so at most one inflated entry is held in memory.

use super::Item;
use crate::config::LimitsConfig;
use crate::paths;
use crate::result_code::ResultCode;
use bytes::Bytes;
use std::io::{Cursor, Read};

/// An opened archive; cloning it shares the parsed directory.
pub type Archive = zip::ZipArchive<Cursor<Bytes>>;

/// Why the archives of a request were refused as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Overrun {
    /// The entries inflate to more than `limits.max_inflated_bytes`.
    #[error("the archives inflate to more bytes than one request may")]
    Bytes,
    /// The files of the request, archive entries included, outnumber `limits.max_items`.
    #[error("the archives hold more entries than one request may")]
    Entries,
}

impl Overrun {
    /// The result code the request is answered with.
    pub fn code(self) -> ResultCode {
        match self {
            Overrun::Bytes => ResultCode::UploadSizeLimit,
            Overrun::Entries => ResultCode::FileCountLimit,
        }
    }
}

/// What the archives of one request may still hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    bytes: u64,
    entries: usize,
}

impl Budget {
    /// A budget of `bytes` inflated bytes and `entries` file entries.
    pub fn new(bytes: u64, entries: usize) -> Self {
        Self { bytes, entries }
    }

    fn take_entry(&mut self) -> Result<(), Overrun> {
        self.entries = self.entries.checked_sub(1).ok_or(Overrun::Entries)?;
        Ok(())
    }

    fn take_bytes(&mut self, n: u64) -> Result<(), Overrun> {
        self.bytes = self.bytes.checked_sub(n).ok_or(Overrun::Bytes)?;
        Ok(())
    }
}

/// Opens an archive and charges `budget` with its entries (folders too: they count as items
/// of the request) and the bytes its files really inflate to, reading each file into nothing
/// (at most `max_upload_bytes + 1` of it, and never more than one byte past the budget).
/// The entry count the archive declares is checked before its directory is parsed, since
/// parsing allocates per entry. `Ok(None)` when it is not a readable archive.
pub fn measure(
    bytes: Bytes,
    budget: &mut Budget,
    limits: &LimitsConfig,
) -> Result<Option<Archive>, Overrun> {
    if declared_entries(&bytes).is_some_and(|n| n > budget.entries as u64) {
        return Err(Overrun::Entries);
    }
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(None);
    };
    if archive.len() > budget.entries {
        return Err(Overrun::Entries);
    }
    let mut scratch = vec![0u8; 64 * 1024];
    for i in 0..archive.len() {
        budget.take_entry()?;
        let Ok(mut entry) = archive.by_index(i) else {
            continue;
        };
        if entry.is_dir() {
            continue;
        }
        let cap = limits.max_upload_bytes.min(budget.bytes);
        budget.take_bytes(inflated_len(
            &mut entry,
            cap.saturating_add(1),
            &mut scratch,
        ))?;
    }
    Ok(Some(archive))
}

/// The number of entries the end-of-central-directory record of `bytes` declares (the zip64
/// record's when the classic one says 0xFFFF), or `None` when there is no such record to read.
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const ZIP64_LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    const ZIP64_EOCD: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
    let search_from = bytes.len().saturating_sub(22 + usize::from(u16::MAX));
    let eocd = search_from + bytes[search_from..].windows(4).rposition(|w| w == EOCD)?;
    let record = bytes.get(eocd..eocd + 22)?;
    let total = u16::from_le_bytes([record[10], record[11]]);
    if total != u16::MAX {
        return Some(u64::from(total));
    }
    let locator = bytes.get(eocd.checked_sub(20)?..eocd)?;
    if locator[..4] != ZIP64_LOCATOR {
        return None;
    }
    let offset = usize::try_from(u64::from_le_bytes(locator[8..16].try_into().ok()?)).ok()?;
    let zip64 = bytes.get(offset..offset.checked_add(56)?)?;
    if zip64[..4] != ZIP64_EOCD {
        return None;
    }
    Some(u64::from_le_bytes(zip64[32..40].try_into().ok()?))
}

/// Bytes `reader` yields, reading at most `cap` of them into `scratch`; a read error ends the
/// count (reading the entry for real reports it).
fn inflated_len(reader: &mut impl Read, cap: u64, scratch: &mut [u8]) -> u64 {
    let mut limited = reader.take(cap);
    let mut total = 0u64;
    loop {
        match limited.read(scratch) {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n as u64,
        }
    }
}

/// Reads entry `index` of an archive as an item under `basepath`; `None` for a folder entry.
/// The entry is read through a reader capped at `max_upload_bytes + 1`, whatever size it
/// declares.
pub fn read_entry(
    archive: &mut Archive,
    index: usize,
    basepath: &str,
    limits: &LimitsConfig,
) -> Option<Item> {
    let Ok(mut entry) = archive.by_index(index) else {
        let display = format!("{basepath}#{index}");
        return Some(Item::failed(display, 0, ResultCode::InvalidFiles));
    };
    if entry.is_dir() {
        return None;
    }
    let declared = entry.size();
    let display = paths::join(basepath, entry.name().trim_start_matches('/'));
    let Some(relative) = entry
        .enclosed_name()
        .and_then(|p| p.to_str().map(str::to_owned))
        .filter(|name| !name.trim_matches('/').is_empty())
    else {
        return Some(Item::failed(display, declared, ResultCode::InvalidFilename));
    };
    let target = paths::under(basepath, &relative, limits.max_path_bytes);
    if declared > limits.max_upload_bytes {
        return Some(Item::failed(display, declared, ResultCode::UploadSizeLimit));
    }
    let reserve = declared.min(limits.max_upload_bytes).min(1 << 24);
    let mut data = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    let read = (&mut entry)
        .take(limits.max_upload_bytes.saturating_add(1))
        .read_to_end(&mut data);
    let size = data.len() as u64;
    let data = match read {
        Err(_) => Err(ResultCode::InvalidFiles),
        Ok(_) if size > limits.max_upload_bytes => Err(ResultCode::UploadSizeLimit),
        Ok(_) => Ok(Bytes::from(data)),
    };
    Some(Item {
        display_path: target.clone().unwrap_or(display),
        path: target,
        size,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zeros_archive(entries: usize, each: usize) -> Bytes {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let chunk = vec![0u8; 1 << 20];
        for i in 0..entries {
            zip.start_file(format!("z{i}.bmp"), opts).expect("entry");
            let mut left = each;
            while left > 0 {
                let n = left.min(chunk.len());
                zip.write_all(&chunk[..n]).expect("write");
                left -= n;
            }
        }
        Bytes::from(zip.finish().expect("zip").into_inner())
    }

    fn limits(max_upload: u64) -> LimitsConfig {
        LimitsConfig {
            max_upload_bytes: max_upload,
            ..LimitsConfig::default()
        }
    }

    #[test]
    fn one_budget_spans_every_archive() {
        let archive = zeros_archive(3, 4 << 20);
        let limits = limits(8 << 20);
        let mut budget = Budget::new(20 << 20, 100);
        assert!(matches!(
            measure(archive.clone(), &mut budget, &limits),
            Ok(Some(_))
        ));
        assert_eq!(
            budget,
            Budget::new(8 << 20, 97),
            "12 MiB and 3 entries charged"
        );
        assert_eq!(
            measure(archive, &mut budget, &limits).err(),
            Some(Overrun::Bytes),
            "the second archive overruns the bytes left"
        );
    }

    #[test]
    fn entries_are_counted_across_archives() {
        let archive = zeros_archive(3, 10);
        let limits = limits(1 << 20);
        let mut budget = Budget::new(1 << 30, 5);
        assert!(measure(archive.clone(), &mut budget, &limits).is_ok());
        assert_eq!(
            measure(archive, &mut budget, &limits).err(),
            Some(Overrun::Entries)
        );
    }

    #[test]
    fn an_entry_over_the_upload_limit_fails_alone() {
        let archive = zeros_archive(1, 3 << 20);
        let limits = limits(1 << 20);
        let mut opened = zip::ZipArchive::new(Cursor::new(archive)).expect("zip");
        let item = read_entry(&mut opened, 0, "/z", &limits).expect("a file entry");
        assert_eq!(item.data, Err(ResultCode::UploadSizeLimit));
        let entry = opened.by_index(0).expect("entry");
        assert_eq!(
            inflated_len(&mut { entry }, 100, &mut [0u8; 64]),
            100,
            "reading stops at the cap"
        );
    }

    #[test]
    fn an_entry_without_a_name_is_refused() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("", zip::write::SimpleFileOptions::default())
            .expect("entry");
        zip.write_all(b"GIF89a").expect("write");
        let bytes = zip.finish().expect("zip").into_inner();
        let mut opened = zip::ZipArchive::new(Cursor::new(Bytes::from(bytes))).expect("zip");
        let item = read_entry(&mut opened, 0, "/z", &limits(1 << 20)).expect("an item");
        assert_eq!(item.path, Err(ResultCode::InvalidFilename));
    }

    #[test]
    fn folders_count_and_the_declared_count_is_checked_first() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..50 {
            zip.add_directory(format!("d{i}/"), zip::write::SimpleFileOptions::default())
                .expect("folder");
        }
        let bytes = Bytes::from(zip.finish().expect("zip").into_inner());
        assert_eq!(declared_entries(&bytes), Some(50));
        let mut budget = Budget::new(1 << 20, 49);
        assert_eq!(
            measure(bytes.clone(), &mut budget, &limits(1 << 20)).err(),
            Some(Overrun::Entries)
        );
        let mut budget = Budget::new(1 << 20, 50);
        assert!(matches!(
            measure(bytes, &mut budget, &limits(1 << 20)),
            Ok(Some(_))
        ));
        assert_eq!(budget, Budget::new(1 << 20, 0), "every folder charged");
    }
}
