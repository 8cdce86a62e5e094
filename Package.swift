// swift-tools-version:6.0
// Lamina: an embeddable engine for small neural networks (MLPs, KANs, tri-plane fields).
// `liblamina.so` is the `lamina` product; build it with `make lib`, which adds the static
// Swift runtime and the export list (see Makefile).
import PackageDescription

let package = Package(
  name: "Lamina",
  products: [
    .library(name: "Lamina", targets: ["Lamina"]),
    .library(name: "lamina", type: .dynamic, targets: ["LaminaC"]),
  ],
  targets: [
    // OpenBLAS's cblas.h and the few LAPACK routines the engine calls.
    .systemLibrary(
      name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    // The public C header, imported so the exports use its exact types (and the core its
    // version macro).
    .systemLibrary(name: "CLaminaABI", path: "Sources/CLaminaABI"),
    // Private C kernels of the core, not API: AVX2/FMA kernels and the small-product sgemm,
    // compiled from the .c files (a kernel body in a header would be compiled into the
    // Swift objects that import it, which SwiftPM does not rebuild when only the header
    // changes); the headers declare them, and inline only the prefetch hint.
    .target(name: "CLaminaKernels", path: "Sources/CLaminaKernels", publicHeadersPath: "."),
    .target(name: "Lamina", dependencies: ["CBLAS", "CLaminaKernels", "CLaminaABI"]),
    .target(name: "LaminaC", dependencies: ["Lamina", "CLaminaABI"]),
    // The tests call the kernels directly too (SmallGemmTests); naming the target makes
    // SwiftPM rebuild them when a kernel header changes.
    .testTarget(name: "LaminaTests", dependencies: ["Lamina", "CLaminaKernels"]),
    .executableTarget(
      name: "lamina-swift-example", dependencies: ["Lamina"], path: "Examples/swift"),
    .executableTarget(
      name: "lamina-pointcloud-fit", dependencies: ["Lamina"], path: "Examples/pointcloud"),
  ],
  swiftLanguageModes: [.v5]
)
