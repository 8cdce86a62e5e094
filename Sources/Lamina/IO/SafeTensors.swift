/// The safetensors container (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length, a JSON header naming each tensor's dtype, shape and byte
/// range, string metadata under "__metadata__", then the raw little-endian data.
/// Models are float32 ("F32") tensors only; a trainer state also holds F64, I64 and U64
/// tensors, for the doubles and counters that must come back exactly (`TrainerState`).
enum SafeTensors {
  /// The element types Lamina writes and reads.
  enum DType: String, CaseIterable {
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bytes per element.
    var size: Int { self == .f32 ? 4 : 8 }
  }

  /// One float32 tensor of a file.
  struct Tensor: Equatable {
    var name: String
    var shape: [Int]
    var values: [Float]
  }

  /// The elements of a tensor of any `DType`.
  enum Values: Equatable {
    case f32([Float])
    case f64([Double])
    case i64([Int64])
    case u64([UInt64])

    var dtype: DType {
      switch self {
      case .f32: return .f32
      case .f64: return .f64
      case .i64: return .i64
      case .u64: return .u64
      }
    }

    var count: Int {
      switch self {
      case .f32(let v): return v.count
      case .f64(let v): return v.count
      case .i64(let v): return v.count
      case .u64(let v): return v.count
      }
    }
  }

  /// One tensor of any `DType`.
  struct Entry: Equatable {
    var name: String
    var shape: [Int]
    var values: Values
  }

  /// Encodes float32 tensors (in the order given) and string metadata into file bytes.
  static func encode(_ tensors: [Tensor], metadata: [(String, String)]) -> [UInt8] {
    encode(
      entries: tensors.map { Entry(name: $0.name, shape: $0.shape, values: .f32($0.values)) },
      metadata: metadata)
  }

  /// Encodes tensors of any dtype (in the order given) and string metadata into file bytes.
  /// With `checksummed`, the metadata also gets "checksum" (`checksum(...)` of the layout,
  /// the other metadata and the data), which `decodeEntries` verifies: a state file's
  /// moments have no invariant that would reveal a flipped bit, so its loader needs one.
  static func encode(
    entries: [Entry], metadata: [(String, String)], checksummed: Bool = false
  ) -> [UInt8] {
    var data = [UInt8]()
    data.reserveCapacity(entries.reduce(0) { $0 + $1.values.count * $1.values.dtype.size })
    var layout: [Layout] = []
    for t in entries {
      let begin = data.count
      switch t.values {
      case .f32(let v): for x in v { append(UInt64(x.bitPattern), bytes: 4, to: &data) }
      case .f64(let v): for x in v { append(x.bitPattern, bytes: 8, to: &data) }
      case .i64(let v): for x in v { append(UInt64(bitPattern: x), bytes: 8, to: &data) }
      case .u64(let v): for x in v { append(x, bytes: 8, to: &data) }
      }
      layout.append(
        Layout(
          name: t.name, dtype: t.values.dtype, shape: t.shape, count: t.values.count,
          begin: begin, start: begin))
    }
    var metadata = metadata
    if checksummed {
      let sum = checksum(layout, Dictionary(metadata, uniquingKeysWith: { a, _ in a }), data, 0)
      metadata.append((checksumKey, hex(sum)))
    }
    var header: [(String, JSONValue)] = [
      ("__metadata__", .object(metadata.map { ($0.0, JSONValue.string($0.1)) }))
    ]
    for t in layout {
      let end = t.begin + t.count * t.dtype.size
      header.append(
        (
          t.name,
          .object([
            ("dtype", .string(t.dtype.rawValue)),
            ("shape", .array(t.shape.map { .number(Double($0)) })),
            ("data_offsets", .array([.number(Double(t.begin)), .number(Double(end))])),
          ])
        ))
    }
    var headerBytes = Array(JSONValue.object(header).text.utf8)
    // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
    while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
    var out = [UInt8]()
    out.reserveCapacity(8 + headerBytes.count + data.count)
    append(UInt64(headerBytes.count), bytes: 8, to: &out)
    out += headerBytes
    out += data
    return out
  }

  /// The metadata key of a checksummed file's checksum (16 hexadecimal digits).
  static let checksumKey = "checksum"

  /// FNV-1a (64-bit) over each tensor's name, dtype, shape and data offsets in file order,
  /// then every metadata pair but the checksum in key order, then the data in 64-bit
  /// little-endian words. Every step is a bijection of the running value, so a change to any
  /// one of those values or words always changes the result.
  private static func checksum(
    _ layout: [Layout], _ metadata: [String: String], _ bytes: [UInt8], _ dataStart: Int
  ) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ word: UInt64) { h = (h ^ word) &* 0x0000_0100_0000_01b3 }
    func mix(_ text: String) {
      for b in text.utf8 { mix(UInt64(b)) }
      mix(0x100)  // a separator no byte equals
    }
    for t in layout {
      mix(t.name)
      mix(t.dtype.rawValue)
      mix(UInt64(t.shape.count))
      for d in t.shape { mix(UInt64(d)) }
      mix(UInt64(t.begin))
      mix(UInt64(t.begin + t.count * t.dtype.size))
    }
    for key in metadata.keys.sorted() where key != checksumKey {
      mix(key)
      mix(metadata[key]!)
    }
    let count = bytes.count - dataStart
    bytes.withUnsafeBytes { raw in
      var i = 0
      while i + 8 <= count {
        mix(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + i, as: UInt64.self)))
        i += 8
      }
      while i < count {
        mix(UInt64(raw[dataStart + i]))
        i += 1
      }
    }
    return h
  }

  /// Throws `.format` unless file bytes (which `decodeEntries` has accepted) hold the
  /// checksum `encode(entries:metadata:checksummed:)` writes, matching their contents.
  static func verifyChecksum(_ bytes: [UInt8]) throws {
    let (layout, metadata, dataStart) = try parse(bytes, accepting: Set(DType.allCases))
    guard let stored = metadata[checksumKey] else {
      throw LaminaError.format("file has no \"\(checksumKey)\" in its safetensors metadata")
    }
    guard stored == hex(checksum(layout, metadata, bytes, dataStart)) else {
      throw LaminaError.format("file's checksum does not match its contents: the file is damaged")
    }
  }

  /// `value` as 16 lower-case hexadecimal digits.
  private static func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }

  /// Appends the low `bytes` bytes of `value`, least significant first.
  private static func append(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
    var v = value
    for _ in 0..<bytes {
      out.append(UInt8(truncatingIfNeeded: v))
      v >>= 8
    }
  }

  /// Decodes a model's file bytes (float32 tensors only), checking every length, offset,
  /// dtype and shape before touching the data. Throws `.format` naming the first problem.
  static func decode(_ bytes: [UInt8]) throws -> (tensors: [Tensor], metadata: [String: String]) {
    let (layout, metadata, _) = try parse(bytes, accepting: [.f32])
    let tensors = layout.map { t in
      Tensor(name: t.name, shape: t.shape, values: floats(bytes, at: t.start, count: t.count))
    }
    return (tensors, metadata)
  }

  /// Decodes file bytes whose tensors may be of every `DType`, checked as `decode` checks
  /// them, and also that the tensors fill the data exactly, with no bytes left over (the
  /// format requires it; a file that was appended to or spliced is refused).
  static func decodeEntries(_ bytes: [UInt8]) throws -> (
    entries: [Entry], metadata: [String: String]
  ) {
    let (layout, metadata, dataStart) = try parse(bytes, accepting: Set(DType.allCases))
    let used = layout.reduce(0) { $0 + $1.count * $1.dtype.size }
    guard used == bytes.count - dataStart else {
      throw LaminaError.format(
        "safetensors data is \(bytes.count - dataStart) bytes but its tensors hold \(used)")
    }
    let entries = layout.map { t -> Entry in
      let values: Values
      switch t.dtype {
      case .f32: values = .f32(floats(bytes, at: t.start, count: t.count))
      case .f64:
        values = .f64(words(bytes, at: t.start, count: t.count).map(Double.init(bitPattern:)))
      case .i64:
        values = .i64(words(bytes, at: t.start, count: t.count).map(Int64.init(bitPattern:)))
      case .u64: values = .u64(words(bytes, at: t.start, count: t.count))
      }
      return Entry(name: t.name, shape: t.shape, values: values)
    }
    return (entries, metadata)
  }

  /// Where one tensor sits: `begin` relative to the data, `start` in the file.
  private struct Layout {
    var name: String
    var dtype: DType
    var shape: [Int]
    var count: Int
    var begin: Int
    var start: Int
  }

  /// The header of file bytes, every entry checked: a dtype in `accepted`, a shape within
  /// the parameter limit, data offsets inside the file that span exactly the shape's bytes,
  /// no overlaps. Touches no tensor data. Also returns where the data starts.
  private static func parse(_ bytes: [UInt8], accepting accepted: Set<DType>) throws -> (
    [Layout], [String: String], Int
  ) {
    guard bytes.count >= 8 else {
      throw LaminaError.format("file is \(bytes.count) bytes, too short for a safetensors header")
    }
    var length: UInt64 = 0
    for i in (0..<8).reversed() { length = length << 8 | UInt64(bytes[i]) }
    guard length <= UInt64(Limits.maxHeaderBytes) else {
      throw LaminaError.format(
        "safetensors header length \(length) is over the limit of \(Limits.maxHeaderBytes)")
    }
    let headerEnd = 8 + Int(length)
    guard headerEnd <= bytes.count else {
      throw LaminaError.format(
        "safetensors header claims \(length) bytes but the file has \(bytes.count - 8) after the length"
      )
    }
    let header = try JSONValue.parse(
      bytes: Array(bytes[8..<headerEnd]), what: "safetensors header", code: .format)
    guard case .object(let entries) = header else {
      throw LaminaError.format("safetensors header is not a JSON object")
    }
    let dataSize = bytes.count - headerEnd
    var metadata: [String: String] = [:]
    var layout: [Layout] = []
    for (name, entry) in entries {
      if name == "__metadata__" {
        guard case .object(let pairs) = entry else {
          throw LaminaError.format("safetensors __metadata__ is not an object")
        }
        for (k, v) in pairs {
          guard case .string(let s) = v else {
            throw LaminaError.format("safetensors metadata \"\(k)\" is not a string")
          }
          metadata[k] = s
        }
        continue
      }
      guard case .string(let dtypeName)? = entry["dtype"] else {
        throw LaminaError.format("tensor \"\(name)\" has no dtype")
      }
      guard let dtype = DType(rawValue: dtypeName), accepted.contains(dtype) else {
        let known = DType.allCases.filter { accepted.contains($0) }.map(\.rawValue)
        throw LaminaError.format(
          "tensor \"\(name)\" has dtype \(dtypeName); Lamina reads \(known.joined(separator: ", ")) only"
        )
      }
      guard case .array(let dims)? = entry["shape"], dims.count <= 8 else {
        throw LaminaError.format("tensor \"\(name)\" has no valid shape")
      }
      var shape: [Int] = []
      var count = 1
      for d in dims {
        guard case .number(let v) = d, v >= 0, v == v.rounded(), v <= Double(Limits.maxParameters)
        else {
          throw LaminaError.format("tensor \"\(name)\" has an invalid dimension in its shape")
        }
        shape.append(Int(v))
        let (c, o) = count.multipliedReportingOverflow(by: Int(v))
        guard !o, c <= Limits.maxParameters else {
          throw LaminaError.format("tensor \"\(name)\" is larger than the parameter limit")
        }
        count = c
      }
      guard case .array(let offs)? = entry["data_offsets"], offs.count == 2,
        case .number(let b) = offs[0], case .number(let e) = offs[1],
        b >= 0, e >= b, b == b.rounded(), e == e.rounded(), e <= Double(dataSize)
      else {
        throw LaminaError.format("tensor \"\(name)\" has data offsets outside the file")
      }
      let begin = Int(b)
      let end = Int(e)
      guard end - begin == count * dtype.size else {
        throw LaminaError.format(
          "tensor \"\(name)\" spans \(end - begin) bytes but its shape needs \(count * dtype.size)")
      }
      layout.append(
        Layout(
          name: name, dtype: dtype, shape: shape, count: count, begin: begin,
          start: headerEnd + begin))
    }
    // Tensors must not overlap (the format forbids it; overlap would alias weights).
    let sorted = layout.map { ($0.begin, $0.begin + $0.count * $0.dtype.size) }.sorted {
      $0.0 < $1.0
    }
    for (a, b) in zip(sorted, sorted.dropFirst()) where b.0 < a.1 {
      throw LaminaError.format("safetensors data ranges overlap")
    }
    return (layout, metadata, headerEnd)
  }

  /// `count` little-endian float32 values from `start`.
  private static func floats(_ bytes: [UInt8], at start: Int, count: Int) -> [Float] {
    var values = [Float](repeating: 0, count: count)
    for i in 0..<count {
      let o = start + 4 * i
      let bits =
        UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16
        | UInt32(bytes[o + 3]) << 24
      values[i] = Float(bitPattern: bits)
    }
    return values
  }

  /// `count` little-endian 64-bit words from `start`.
  private static func words(_ bytes: [UInt8], at start: Int, count: Int) -> [UInt64] {
    var values = [UInt64](repeating: 0, count: count)
    for i in 0..<count {
      var w: UInt64 = 0
      for k in (0..<8).reversed() { w = w << 8 | UInt64(bytes[start + 8 * i + k]) }
      values[i] = w
    }
    return values
  }
}
