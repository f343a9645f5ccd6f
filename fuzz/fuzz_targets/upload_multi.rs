//! Fuzz target `upload_multi`: feeds each input to [`pictor_fuzz::check_upload_multi`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pictor_fuzz::check_upload_multi(data));
