mod device;
fn main() {}
