//! The drift check: the committed `include/breakwater.h` is exactly what cbindgen generates
//! from the current sources (built by `build.rs` with the `header` feature).

#[test]
fn committed_header_matches_cbindgen() {
    let generated = std::fs::read_to_string(env!("BW_GENERATED_HEADER")).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/breakwater.h");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if generated == committed {
        return;
    }
    if std::env::var_os("BW_BLESS_HEADER").is_some() {
        std::fs::write(path, &generated).unwrap();
        eprintln!("rewrote {path}");
        return;
    }
    let line = generated
        .lines()
        .zip(committed.lines())
        .position(|(g, c)| g != c)
        .unwrap_or_else(|| generated.lines().count().min(committed.lines().count()));
    panic!(
        "bindings-c/include/breakwater.h is stale: it differs from cbindgen's output from line \
         {}:\n  generated: {:?}\n  committed: {:?}\nRegenerate it with: BW_BLESS_HEADER=1 \
         cargo test -p breakwater-c --features header committed_header",
        line + 1,
        generated.lines().nth(line),
        committed.lines().nth(line),
    );
}
