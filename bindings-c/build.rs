//! With the `header` feature, generates the C header from `src/` with cbindgen into
//! `$OUT_DIR/breakwater.h`. The committed `include/breakwater.h` must match it: the
//! `committed_header_matches_cbindgen` test (`cargo test -p breakwater-c --features header`)
//! fails on drift, and refreshes the committed file when run with `BW_BLESS_HEADER=1`.

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    #[cfg(feature = "header")]
    {
        let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
        let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
        let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
            .expect("bindings-c/cbindgen.toml");
        let out = format!("{out_dir}/breakwater.h");
        cbindgen::Builder::new()
            .with_crate(&crate_dir)
            .with_config(config)
            .generate()
            .expect("cbindgen failed")
            .write_to_file(&out);
        println!("cargo:rustc-env=BW_GENERATED_HEADER={out}");
    }
}
