#!/bin/sh
# Builds the scratch module twice (plain SIMD, relaxed SIMD) and prints the native checksums.
set -e
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo run --release --bin check
RUSTFLAGS="-C target-feature=+simd128" cargo build --release --target wasm32-unknown-unknown --lib
cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/qbench.wasm" plain.wasm
RUSTFLAGS="-C target-feature=+simd128" cargo build --release --target wasm32-unknown-unknown --lib --features relaxed-simd
cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/qbench.wasm" relaxed.wasm
