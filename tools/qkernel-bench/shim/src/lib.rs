pub mod quantized {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum GgmlDType { Q8_0, Q5_0, Q4_0, Q4_1 }
}
