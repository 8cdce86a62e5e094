/// A tri-plane encoding, placed first, copies its planes channel-last once per call for
/// every chunk's passes (`withSources` and the passes taking sources, in
/// TriplaneEncoding.swift and TriplaneEncoding+Backward.swift).
extension TriplaneEncoding: EncodingHead {
  /// The tri-plane encodings among `layers`, with their indices (tensor name prefixes).
  static func indexed(in layers: [Layer]) -> [(index: Int, layer: TriplaneEncoding)] {
    layers.enumerated().compactMap { i, l in (l as? TriplaneEncoding).map { (i, $0) } }
  }
}
