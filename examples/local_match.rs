//! The whole Edgegap match offline (coming with the client, server and emulator issues).

fn main() {
    println!("local_match: coming with the client issue");
}
