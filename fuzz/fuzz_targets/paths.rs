//! Fuzz target `paths`: feeds each input to [`pictor_fuzz::check_paths`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pictor_fuzz::check_paths(data));
