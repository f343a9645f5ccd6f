//! Fuzz target `reduced_jpeg`: feeds each input to [`pictor_fuzz::check_reduced_jpeg`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pictor_fuzz::check_reduced_jpeg(data));
