fn main() {
    qbench::setup(8);
    println!("native {}", [1usize, 2, 3, 4, 5, 7, 8].map(|m| format!("m {m} checksum {}", qbench::checksum(m))).join("; "));
    println!("native layout checksum {}", qbench::layout_checksum());
}
