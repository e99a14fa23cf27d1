//! Generates the protobuf messages and grpcio stubs from proto/ without a
//! `protoc` binary: rust-protobuf 3's pure parser reads the .proto files
//! (keeping `service` blocks, which protobuf-codegen-pure 2 drops), the
//! descriptors are converted to rust-protobuf 2 through their bytes, and the
//! 2.x code generators write the modules that grpcio 0.13 expects.
use std::path::Path;

fn main() {
    use protobuf::Message as _;
    use protobuf3::Message as _;

    println!("cargo:rerun-if-changed=proto");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out_dir = Path::new(&out_dir);
    let parsed = protobuf_parse::Parser::new()
        .pure()
        .include("proto")
        .input("proto/marketplace.proto")
        .input("proto/health.proto")
        .parse_and_typecheck()
        .expect("the files in proto/ parse");
    let descriptors: Vec<protobuf::descriptor::FileDescriptorProto> = parsed
        .file_descriptors
        .iter()
        .map(|file| {
            let bytes = file.write_to_bytes().expect("descriptor encodes");
            protobuf::descriptor::FileDescriptorProto::parse_from_bytes(&bytes)
                .expect("descriptor decodes as protobuf 2")
        })
        .collect();
    let files: Vec<String> = parsed
        .relative_paths
        .iter()
        .map(|path| path.to_str().to_string())
        .collect();
    protobuf_codegen::gen_and_write(
        &descriptors,
        &files,
        out_dir,
        &protobuf_codegen::Customize::default(),
    )
    .expect("protobuf messages generate");
    let stubs = grpcio_compiler::codegen::gen(&descriptors, &files);
    assert!(!stubs.is_empty(), "no gRPC service stubs were generated");
    for stub in stubs {
        std::fs::write(out_dir.join(&stub.name), &stub.content).expect("stub writes");
    }
    std::fs::write(
        out_dir.join("mod.rs"),
        "pub mod marketplace;\npub mod marketplace_grpc;\npub mod health;\npub mod health_grpc;\n",
    )
    .expect("mod.rs writes");
}
