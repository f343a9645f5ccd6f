//! Fuzz target `tus_headers`: feeds each input to [`pictor_fuzz::check_tus_headers`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pictor_fuzz::check_tus_headers(data));
